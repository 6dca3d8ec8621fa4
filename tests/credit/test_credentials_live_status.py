"""What the card's live status and verification show besides the checks: the worker's published
star level (never a provisional one, the newest year's), and yellow while a complaint against
the worker is under investigation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.rating import WorkerRatingChanged
from contracts.registry import WorkerStatusChanged
from services.credit.numbers import local_date
from tests.credit.credit_support import Credit, officer
from tests.credit.test_credentials_cards import Scenario, registered
from tests.support.apps import eventually
from tests.support.tokens import bearer


def rating(
    worker_id: uuid.UUID, year: int, stars: int, at: datetime, *, provisional: bool = False
) -> WorkerRatingChanged:
    return WorkerRatingChanged(
        worker_id=str(worker_id),
        year=year,
        stars=stars,
        previous_stars=None,
        score=20.0 * stars - 5,
        changed_at=at,
        provisional=provisional,
        policy_version=1,
    )


async def test_stars_on_the_verification_and_complaints_turn_the_card_yellow(
    credit: Credit,
) -> None:
    client = credit.client
    today = local_date(datetime.now(UTC))
    scenario = Scenario(credit, uuid.uuid4())
    worker_id = scenario.worker_id
    await credit.peer.publish(registered(worker_id, uuid.uuid4(), today + timedelta(days=400)))
    await eventually(scenario.facts)
    await credit.issue(worker_id)
    card = await scenario.becomes("active", "green")
    code = card["verification_url"].rsplit("/", 1)[1]

    async def verification() -> dict[str, Any]:
        response = await client.get(f"/api/v1/verifications/cards/{code}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    assert (await verification())["stars"] is None
    page = await client.get(f"/verify/{code}?lang=zh-CN")
    assert 'data-stars="0"' in page.text and "暂无评级" in page.text

    # Published levels only, the newest year's; within a year the newest change.
    at = datetime.now(UTC) - timedelta(hours=1)
    for event in (
        rating(worker_id, 2026, 2, at, provisional=True),  # an open year: not shown
        rating(worker_id, 2025, 4, at),
        rating(worker_id, 2025, 3, at - timedelta(minutes=5)),  # older change of 2025
        rating(worker_id, 2024, 1, at + timedelta(minutes=5)),  # an earlier year
    ):
        await credit.peer.publish(event)
    await eventually(lambda: credit.processed("credit-card-ratings", 4))
    shown = await verification()
    assert (shown["stars"], shown["stars_year"]) == (4, 2025)
    page = await client.get(f"/verify/{code}?lang=en")
    assert 'data-stars="4"' in page.text and "4 of 5 (2025)" in page.text
    page = await client.get(f"/verify/{code}?lang=zh-HK")
    assert "4 星（2025 年度）" in page.text
    await credit.peer.publish(rating(worker_id, 2026, 5, at + timedelta(minutes=10)))
    await eventually(lambda: credit.processed("credit-card-ratings", 5))
    assert (await verification())["stars"] == 5

    # A complaint filed is not yet an investigation: still green.
    async def credit_file() -> bool:
        response = await client.get(f"/api/v1/credit-files/worker/{worker_id}", headers=officer())
        return response.status_code == 200

    await eventually(credit_file)
    filed = await client.post(
        "/api/v1/credit-complaints",
        json={
            "target_kind": "worker",
            "target_id": str(worker_id),
            "category": "contract_breach",
            "description": "Left without notice",
        },
        headers=bearer("employer", uuid.uuid4()),
    )
    assert filed.status_code == 201, filed.text
    cid = filed.json()["id"]
    assert (await scenario.card() or {})["colour"] == "green"
    # An officer takes it up: yellow, on the card and on the public check, still active.
    assigned = await client.post(
        f"/api/v1/credit-complaints/{cid}/assign", json={"assignee": "officer-1"}, headers=officer()
    )
    assert assigned.status_code == 200, assigned.text
    assert (await scenario.card() or {})["colour"] == "yellow"
    assert ((await verification())["colour"], (await verification())["state"]) == (
        "yellow",
        "active",
    )
    page = await client.get(f"/verify/{code}?lang=zh-CN")
    assert 'data-colour="yellow"' in page.text
    # Decided (rejected): green again.
    decided = await client.post(
        f"/api/v1/credit-complaints/{cid}/decision",
        json={"outcome": "rejected", "reason": "No evidence"},
        headers=officer(),
    )
    assert decided.status_code == 200, decided.text
    assert (await scenario.card() or {})["colour"] == "green"
    assert (await verification())["colour"] == "green"


async def test_registry_suspension_and_return_suspend_and_reinstate_the_card(
    credit: Credit,
) -> None:
    """The registry's own standing is a condition too: a worker suspended (or gone) in the
    registry loses the card's validity (red, suspension bit set) until they are active again."""
    today = local_date(datetime.now(UTC))
    scenario = Scenario(credit, uuid.uuid4())
    await credit.peer.publish(
        registered(scenario.worker_id, uuid.uuid4(), today + timedelta(days=400))
    )
    await eventually(scenario.facts)
    await credit.issue(scenario.worker_id)
    card = await scenario.becomes("active", "green")
    credential = (
        await credit.client.get(f"/api/v1/cards/{card['id']}/credential", headers=scenario.holder)
    ).json()

    def status(to: str, minutes: int) -> WorkerStatusChanged:
        return WorkerStatusChanged(
            worker_id=str(scenario.worker_id),
            from_status="active" if to != "active" else "suspended",
            to_status=to,
            changed_by="system",
            reason="registry review",
            changed_at=datetime.now(UTC) + timedelta(minutes=minutes),
        )

    await credit.peer.publish(status("suspended", 1))
    suspended = await scenario.becomes("suspended", "red")
    assert "registry_standing" in (suspended["state_reason"] or "")
    assert (await scenario.verify(credential)).suspended is True
    eligibility = await credit.client.get(
        f"/api/v1/workers/{scenario.worker_id}/credit/card-eligibility", headers=officer()
    )
    [standing] = [c for c in eligibility.json()["conditions"] if c["name"] == "registry_standing"]
    assert standing == {
        "name": "registry_standing",
        "met": False,
        "detail": "registry status suspended",
    }
    await credit.peer.publish(status("active", 2))
    await scenario.becomes("active", "green")
    assert (await scenario.verify(credential)).valid
