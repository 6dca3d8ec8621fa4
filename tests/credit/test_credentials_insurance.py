"""The card holders' accident insurance over time: a renewal reminder once a policy ends within
the warning period (none for a policy already followed), the end of every policy's cover
announced once (renewed or not), and claims announced as they are recorded and decided."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from contracts.credit import InsuranceClaimRecorded, InsuranceExpired, InsuranceRenewalDue
from services.credit.credentials import insurance
from services.credit.numbers import local_date
from tests.credit.credit_support import Credit, officer
from tests.credit.test_credentials_cards import Scenario, registered
from tests.support.apps import context, eventually


async def test_renewal_reminders_expiry_and_claims_are_announced(credit: Credit) -> None:
    client = credit.client
    today = local_date(datetime.now(UTC))
    scenario = Scenario(credit, uuid.uuid4())
    await credit.peer.publish(
        registered(scenario.worker_id, uuid.uuid4(), today + timedelta(days=3000))
    )
    await eventually(scenario.facts)
    await credit.issue(scenario.worker_id)
    await scenario.becomes("active", "green")
    policies = f"/api/v1/insurance/policies?worker_id={scenario.worker_id}"
    [first] = (await client.get(policies, headers=officer())).json()["items"]
    first_ends = date.fromisoformat(first["ends_on"])
    assert first["reminded_at"] is None and first["expiry_announced_at"] is None

    async def announce(day: date) -> int:
        async with context(credit.app).db.write() as session:
            return await insurance.announce(session, day, 30)

    # Nothing due today (a fresh one-year policy); the officers' sweep says so too.
    swept = await client.post("/api/v1/cards/status/sweep", headers=officer())
    assert swept.status_code == 200 and swept.json() == {"changed": 0, "insurance_notices": 0}
    # 31 days before the end: not yet; 30 days before: the reminder, once.
    assert await announce(first_ends - timedelta(days=31)) == 0
    assert await announce(first_ends - timedelta(days=30)) == 1
    assert await announce(first_ends - timedelta(days=29)) == 0
    [reminded] = (await client.get(policies, headers=officer())).json()["items"]
    assert reminded["reminded_at"] is not None

    # Renewed: the next period starts the day after; its end is announced as continued.
    renewal = await client.post(
        f"/api/v1/insurance/policies/{first['id']}/renewal", headers=officer()
    )
    assert renewal.status_code == 201, renewal.text
    second = renewal.json()
    second_ends = date.fromisoformat(second["ends_on"])
    assert date.fromisoformat(second["starts_on"]) == first_ends + timedelta(days=1)
    assert await announce(first_ends + timedelta(days=1)) == 1  # the first one's end
    assert await announce(first_ends + timedelta(days=2)) == 0
    # The second: reminded, then ended with nothing after it (the holder is uninsured).
    assert await announce(second_ends - timedelta(days=10)) == 1
    assert await announce(second_ends + timedelta(days=1)) == 1
    assert await announce(second_ends + timedelta(days=40)) == 0

    # Claims: recorded and decided, each change announced.
    claim = await client.post(
        f"/api/v1/insurance/policies/{first['id']}/claims",
        json={"incident_date": today.isoformat(), "incident": "上门服务途中摔伤"},
        headers=officer(),
    )
    assert claim.status_code == 201, claim.text
    decided = await client.post(
        f"/api/v1/insurance/claims/{claim.json()['id']}/decision",
        json={"status": "rejected"},
        headers=officer(),
    )
    assert decided.status_code == 200, decided.text

    await eventually(credit.all_published)
    reminders = [
        InsuranceRenewalDue.model_validate(e.data)
        for e in await credit.peer.read("CREDIT", InsuranceRenewalDue.subject)
    ]
    assert [(r.insurance_policy_id, r.ends_on) for r in reminders] == [
        (first["id"], first_ends),
        (second["id"], second_ends),
    ]
    ended = [
        InsuranceExpired.model_validate(e.data)
        for e in await credit.peer.read("CREDIT", InsuranceExpired.subject)
    ]
    assert [(e.insurance_policy_id, e.renewed) for e in ended] == [
        (first["id"], True),
        (second["id"], False),
    ]
    assert {e.worker_id for e in ended} == {str(scenario.worker_id)}
    claims = [
        InsuranceClaimRecorded.model_validate(e.data)
        for e in await credit.peer.read("CREDIT", InsuranceClaimRecorded.subject)
    ]
    assert [(c.claim_id, c.status) for c in claims] == [
        (claim.json()["id"], "reported"),
        (claim.json()["id"], "rejected"),
    ]
    assert claims[0].insurance_policy_id == first["id"] and claims[0].incident_date == today
