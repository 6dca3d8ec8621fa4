"""Credit's read models of employment and consent, fed by real registry events over JetStream,
and the access log the worker reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.credit.credit_support import (
    Credit,
    consent_changed,
    employment_changed,
)
from tests.support.apps import eventually
from tests.support.tokens import bearer

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


async def status(credit: Credit, worker: uuid.UUID, headers: dict[str, str]) -> int:
    response = await credit.client.get(f"/api/v1/workers/{worker}/certificates", headers=headers)
    return response.status_code


async def test_the_current_company_reads_and_the_previous_one_no_longer(credit: Credit) -> None:
    worker = await credit.known_worker()
    await credit.issue(worker)
    first, second = uuid.uuid4(), uuid.uuid4()
    await credit.employ(worker, first)
    assert await status(credit, worker, bearer("company", first)) == 200
    await credit.employ(worker, second)
    assert await status(credit, worker, bearer("company", first)) == 404
    assert await status(credit, worker, bearer("company", second)) == 200
    await credit.employ(worker, None)  # left the company
    assert await status(credit, worker, bearer("company", second)) == 404


async def test_an_older_employment_change_arriving_late_is_ignored(credit: Credit) -> None:
    worker, newer, older = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await credit.peer.publish(employment_changed(worker, newer, at=T0 + timedelta(days=1)))
    await credit.peer.publish(employment_changed(worker, older, at=T0))
    await eventually(lambda: credit.processed("credit-employment", 2))
    assert await credit.company_of(worker) == newer


async def test_consent_opens_until_withdrawn_or_expired(credit: Credit) -> None:
    worker = await credit.known_worker()
    await credit.issue(worker)
    employer, partner = uuid.uuid4(), uuid.uuid4()
    as_employer = bearer("employer", employer)
    as_partner = bearer("partner", partner, scopes=["credit:read"])
    assert await status(credit, worker, as_employer) == 404

    consent_id = uuid.uuid4()
    await credit.consent(worker, employer, consent_id=consent_id, at=T0)
    assert await status(credit, worker, as_employer) == 200
    assert await status(credit, worker, as_partner) == 404  # consent names one recipient
    await credit.consent(
        worker, employer, consent_id=consent_id, granted=False, at=T0 + timedelta(1)
    )
    assert await status(credit, worker, as_employer) == 404

    # Lapsed, or for another purpose: no access either.
    await credit.consent(worker, partner, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await credit.consent(worker, partner, scope="marketing")
    assert await status(credit, worker, as_partner) == 404
    # The recipient as the registry may spell it (upper-case id) still names the partner.
    await credit.consent(worker, str(partner).upper())
    assert await status(credit, worker, as_partner) == 200


async def test_a_withdrawal_overtaken_by_its_older_grant_stays_withdrawn(credit: Credit) -> None:
    worker, employer, consent_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    withdrawn = consent_changed(
        worker, employer, consent_id=consent_id, granted=False, at=T0 + timedelta(hours=1)
    )
    granted = consent_changed(worker, employer, consent_id=consent_id, at=T0)
    await credit.peer.publish(withdrawn)
    await credit.peer.publish(granted)
    await eventually(lambda: credit.processed("credit-consents", 2))
    assert not await credit.consented(worker, employer)


async def test_the_worker_sees_who_read_their_credit_data(credit: Credit) -> None:
    worker = await credit.known_worker()
    certificate = await credit.issue(worker)
    company, partner = uuid.uuid4(), uuid.uuid4()
    await credit.employ(worker, company)
    await credit.consent(worker, partner)
    as_partner = bearer("partner", partner, scopes=["credit:read"], subject="client-jobs-r-us")
    await credit.client.get(f"/api/v1/certificates/{certificate.id}", headers=as_partner)
    await credit.client.get(
        f"/api/v1/workers/{worker}/certificates", headers=bearer("company", company)
    )
    # The holder's and the staff's own reads are not third-party reads.
    await credit.client.get(
        f"/api/v1/workers/{worker}/certificates", headers=bearer("worker", worker)
    )
    await credit.client.get(f"/api/v1/workers/{worker}/certificates", headers=bearer("officer"))

    path = f"/api/v1/workers/{worker}/credit/access-log"
    first = await credit.client.get(path, params={"limit": 1}, headers=bearer("worker", worker))
    assert first.status_code == 200
    [entry] = first.json()["items"]
    assert {k: entry[k] for k in ("reader_role", "reader_party_id", "reader_subject")} == {
        "reader_role": "partner",
        "reader_party_id": str(partner),
        "reader_subject": "client-jobs-r-us",
    }
    assert (entry["resource"], entry["certificate_id"], entry["items"]) == (
        "certificate",
        str(certificate.id),
        1,
    )
    second = await credit.client.get(
        path,
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=bearer("worker", worker),
    )
    [entry] = second.json()["items"]
    assert (entry["reader_role"], entry["reader_party_id"], entry["resource"]) == (
        "company",
        str(company),
        "certificates",
    )
    assert entry["items"] == 1 and entry["certificate_id"] is None
    assert second.json()["next_cursor"] is None
    # Nobody else's business: another worker gets 404, the reader itself 403.
    assert (
        await credit.client.get(path, headers=bearer("worker", uuid.uuid4()))
    ).status_code == 404
    assert (await credit.client.get(path, headers=as_partner)).status_code == 403
