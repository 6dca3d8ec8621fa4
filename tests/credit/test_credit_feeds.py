"""Credit's change feeds for agencies (issue 14): certificates, cards, credit levels and lists,
built from credit's own events, on one credit app with a real database and NATS. An agency
reads a dataset only with its scope and an agreement in force in credit's read model of the
registry's agreements (``registry.agreement.changed``), only the agreement's fields; pages are
signed with the published exchange keys, restart from zero, and land in credit's audit chain."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from contracts.credit import (
    CardIssued,
    CardStatusChanged,
    CreditLevelChanged,
    CreditListEntryAdded,
    CreditListEntryRemoved,
)
from services.credit import feeds as credit_feeds
from services.kit import audit_chain
from services.kit.outbox import publish, publish_many
from services.registry.agencies.datasets import SERVICE_FEED_DATASETS, scope_of
from tests.credit.credit_support import Credit
from tests.support.agency_feeds import (
    agreement_applied,
    agreement_changed,
    feed_page,
    refused,
    verified,
)
from tests.support.apps import context, eventually
from tests.support.tokens import bearer

CERT_FIELDS = ["kind", "valid_until", "worker_id"]


def test_catalogue_names_credits_feeds_with_their_fields() -> None:
    """An agreement can name exactly the datasets and fields credit serves, under the scope
    credit asks for."""
    for name, fields in credit_feeds.FEEDS.items():
        assert SERVICE_FEED_DATASETS[name] == fields
        assert scope_of(name) == f"feed:{name}"


async def test_certificates_feed_is_projected_signed_audited_and_restartable(
    credit: Credit,
) -> None:
    client = credit.client
    agency, stranger = uuid.uuid4(), uuid.uuid4()
    event = agreement_changed(agency, {"certificates": CERT_FIELDS, "credit-levels": ["level"]})
    await credit.peer.publish(event)
    await agreement_applied(credit.app, event)
    scopes = ["feed:certificates", "feed:cards", "feed:credit-levels"]
    token = bearer("agency", agency, scopes=scopes)

    first = await credit.issue(await credit.known_worker())
    second = await credit.issue(await credit.known_worker("黄丽华"))

    response, page = await feed_page(client, "certificates", token, count=2)
    assert [e["id"] for e in page["entries"]] == [str(first.id), str(second.id)]
    assert [e["op"] for e in page["entries"]] == ["upsert", "upsert"]
    assert page["fields"] == CERT_FIELDS and page["retention_days"] == 365
    # Only the agreement's fields: the certificate number (and the rest) are absent.
    for entry in page["entries"]:
        assert set(entry["record"]) == set(CERT_FIELDS)
    assert first.number not in response.text and second.number not in response.text
    assert page["entries"][0]["record"]["worker_id"] == str(first.worker_id)
    # Signed for this agency, over these bytes, with the published keys.
    manifest = verified(credit.app, response)
    assert (manifest["aud"], manifest["dataset"], manifest["count"]) == (
        str(agency),
        "certificates",
        2,
    )
    assert manifest["next_cursor"] == page["next_cursor"] and manifest["retention_days"] == 365

    # The worker sees that the agency received their certificate (who read my credit data).
    log = await client.get(
        f"/api/v1/workers/{first.worker_id}/credit/access-log",
        headers=bearer("worker", first.worker_id),
    )
    assert log.status_code == 200, log.text
    reads = [r for r in log.json()["items"] if r["reader_role"] == "agency"]
    assert reads and all(r["reader_party_id"] == str(agency) for r in reads)
    assert {(r["resource"], r["certificate_id"], r["items"]) for r in reads} == {
        ("certificate", str(first.id), 1)
    }

    # Restart from zero: the same entries in the same order; page by page, the same again.
    _, again = await feed_page(client, "certificates", token, count=2)
    assert again["entries"] == page["entries"]
    _, one = await feed_page(client, "certificates", token, limit=1, count=1)
    assert one["has_more"] is True
    _, rest = await feed_page(client, "certificates", token, after=one["next_cursor"], count=1)
    assert [*one["entries"], *rest["entries"]] == page["entries"]
    assert rest["has_more"] is False

    # Without an agreement naming the dataset: 403, whatever the token's scopes.
    stranger_token = bearer("agency", stranger, scopes=scopes)
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=stranger_token))
    await refused(lambda: client.get("/api/v1/feeds/cards", headers=token))
    # Without the scope: 403; nor may a partner or a worker read a feed.
    no_scope = bearer("agency", agency, scopes=["feed:workers"])
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=no_scope))
    partner = bearer("partner", uuid.uuid4(), scopes=scopes)
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=partner))
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=bearer("worker")))
    # Bad cursors are 422 problems, not 500s.
    bad = await client.get("/api/v1/feeds/certificates?after=-1", headers=token)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem")

    # Officers see every field (programme supervision).
    _, full = await feed_page(client, "certificates", bearer("officer"), count=2)
    assert full["entries"][0]["record"]["certificate_number"] == first.number
    assert set(full["fields"]) == set(credit_feeds.FEEDS["certificates"])

    # Every page served is in credit's audit chain, which verifies end to end.
    verdict = await audit_chain.verify(context(credit.app).db)
    assert verdict.ok, verdict.reason
    assert verdict.entries >= 5  # one per page served (a polled page is audited too)


async def test_an_expired_or_revoked_agreement_is_refused_at_once(credit: Credit) -> None:
    client = credit.client
    now = datetime.now(UTC)
    expired_agency, agency = uuid.uuid4(), uuid.uuid4()
    scopes = ["feed:certificates"]
    fields = {"certificates": ["kind"]}

    # Expired (or not yet valid): refused although the row says active.
    expired = agreement_changed(
        expired_agency,
        fields,
        valid_from=now - timedelta(days=30),
        valid_until=now - timedelta(seconds=1),
    )
    await credit.peer.publish(expired)
    await agreement_applied(credit.app, expired)
    expired_token = bearer("agency", expired_agency, scopes=scopes)
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=expired_token))
    future = agreement_changed(expired_agency, fields, valid_from=now + timedelta(days=1))
    await credit.peer.publish(future)
    await agreement_applied(credit.app, future)
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=expired_token))

    token = bearer("agency", agency, scopes=scopes)
    made = agreement_changed(agency, fields, changed_at=now)
    await credit.peer.publish(made)
    await agreement_applied(credit.app, made)
    await feed_page(client, "certificates", token)

    # Revoked: the next read is refused (the token still carries the scope).
    revoked = made.model_copy(update={"status": "revoked", "changed_at": now + timedelta(1)})
    await credit.peer.publish(revoked)
    await agreement_applied(credit.app, revoked)
    problem = await refused(lambda: client.get("/api/v1/feeds/certificates", headers=token))
    assert "agreement" in problem["detail"]
    # A late copy of an older state does not bring it back.
    runner = context(credit.app).runners["credit-agreements"]
    seen = runner.processed
    stale = made.model_copy(update={"changed_at": now + timedelta(seconds=1)})
    await credit.peer.publish(stale)
    await eventually(lambda: _at_least(runner.processed, seen + 1))
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=token))

    # An agency suspended: refused; reactivated (a later change): served again.
    other = uuid.uuid4()
    other_token = bearer("agency", other, scopes=scopes)
    base = agreement_changed(other, fields, status="agency_suspended", changed_at=now)
    await credit.peer.publish(base)
    await agreement_applied(credit.app, base)
    await refused(lambda: client.get("/api/v1/feeds/certificates", headers=other_token))
    back = base.model_copy(update={"status": "active", "changed_at": now + timedelta(1)})
    await credit.peer.publish(back)
    await agreement_applied(credit.app, back)
    await feed_page(client, "certificates", other_token)


async def _at_least(value: int, target: int) -> bool:
    return value >= target


async def test_levels_lists_and_cards_feed_corrections_and_deletions(credit: Credit) -> None:
    """Credit's own events, as its code publishes them: a level's first computation is an
    upsert and its recomputation a correction; a list entry's end is a deletion; a card's
    status change corrects the card."""
    now = datetime.now(UTC)
    party, entry, card, worker = (str(uuid.uuid4()) for _ in range(4))
    level = {
        "party_id": party,
        "party_kind": "worker",
        "level": "B",
        "previous_level": None,
        "score": 75,
        "previous_score": None,
        "policy_version": 1,
        "changed_at": now,
    }
    listing = {
        "entry_id": entry,
        "list_kind": "black",
        "party_id": party,
        "party_kind": "worker",
        "basis": "officer",
        "legal_basis": "《家政服务条例》第十条",
        "starts_at": now,
        "publish_until": now + timedelta(days=365),
        "policy_version": 1,
    }
    async with context(credit.app).db.write() as session:
        await publish(session, CreditLevelChanged(**level))  # type: ignore[arg-type]
        await publish_many(
            session,
            [
                CreditLevelChanged(  # type: ignore[arg-type]
                    **{**level, "level": "C", "previous_level": "B", "score": 62}
                ),
                CreditListEntryAdded(**listing),  # type: ignore[arg-type]
                CreditListEntryRemoved(  # type: ignore[arg-type]
                    **listing, ended_at=now, end_reason="officer"
                ),
                CardIssued(
                    card_id=card,
                    card_number="ZQJZ-2026-000042",
                    worker_id=worker,
                    policy_version=1,
                    issued_at=now,
                    valid_until=date(2027, 12, 31),
                    by_exception=False,
                ),
                CardStatusChanged(
                    card_id=card,
                    worker_id=worker,
                    state="suspended",
                    colour="red",
                    reason="投诉核查中",
                    valid_until=date(2027, 12, 31),
                    changed_at=now,
                ),
            ],
        )
    officer = bearer("officer")
    _, levels = await feed_page(credit.client, "credit-levels", officer, count=2)
    assert [(e["op"], e["id"], e["record"]["level"]) for e in levels["entries"]] == [
        ("upsert", party, "B"),
        ("correction", party, "C"),
    ]
    _, lists = await feed_page(credit.client, "credit-lists", officer, count=2)
    assert [(e["op"], e["id"]) for e in lists["entries"]] == [
        ("upsert", entry),
        ("deletion", entry),
    ]
    assert lists["entries"][1]["record"]["end_reason"] == "officer"
    _, cards = await feed_page(credit.client, "cards", officer, count=2)
    assert [(e["op"], e["record"]["state"]) for e in cards["entries"]] == [
        ("upsert", "active"),
        ("correction", "suspended"),
    ]
    assert cards["entries"][0]["record"]["card_number"] == "ZQJZ-2026-000042"
    # An agency reading levels sees only the level, never the score.
    agency = uuid.uuid4()
    event = agreement_changed(agency, {"credit-levels": ["level", "changed_at"]})
    await credit.peer.publish(event)
    await agreement_applied(credit.app, event)
    token = bearer("agency", agency, scopes=["feed:credit-levels"])
    _, seen = await feed_page(credit.client, "credit-levels", token, count=2)
    assert all(set(e["record"]) == {"level", "changed_at"} for e in seen["entries"])
