"""The appeal window is policy data (issue 11, DESIGN §7): a closed year's level and scores are
appealed until ``appeal_window_days`` after the worker's latest publication, counted with the
policy version that publication recorded; after it, a 409 problem naming the deadline."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from services.kit.types import utcnow
from services.rating.models import LevelPublication
from tests.rating.rating_support import YEAR, RatingHarness, officer, worker_account
from tests.rating.test_rating_assessment import V2_RULES
from tests.support.apps import context


async def publish_policy(rating: RatingHarness, **changes: Any) -> int:
    response = await rating.client.post(
        "/api/v1/assessments/policies",
        json={"rules": V2_RULES | changes, "note": "appeal window"},
        headers=dict(officer()),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["version"])


async def published_days_ago(rating: RatingHarness, worker: uuid.UUID, days: float) -> None:
    """Time passes: the worker's publications of the year were made ``days`` ago."""
    async with context(rating.app).db.write() as session:
        await session.execute(
            update(LevelPublication)
            .where(LevelPublication.worker_id == worker, LevelPublication.year == YEAR - 1)
            .values(published_at=utcnow() - timedelta(days=days))
        )


async def test_appeals_after_the_policys_window_are_refused(rating: RatingHarness) -> None:
    version = await publish_policy(rating, appeal_window_days=5)
    worker = await rating.register()
    me = worker_account(worker)
    score = await rating.rate(me, worker, year=YEAR - 1, score=70)
    assert score.status_code == 201, score.text
    closed = await rating.client.post(
        f"/api/v1/assessments/years/{YEAR - 1}/close", headers=dict(officer())
    )
    assert closed.status_code == 200 and closed.json()["policy_version"] == version

    async def appeal(rating_id: str | None = None) -> Any:
        body = {"year": YEAR - 1, "reason": "复核"} | (
            {"rating_id": rating_id} if rating_id else {}
        )
        return await rating.client.post("/api/v1/assessments/appeals", json=body, headers=dict(me))

    # Four days after the publication: within version 2's five days.
    await published_days_ago(rating, worker, 4)
    within = await appeal()
    assert within.status_code == 201, within.text
    rejected = await rating.client.post(
        f"/api/v1/assessments/appeals/{within.json()['id']}/decision",
        json={"outcome": "rejected", "reason": "依据充分"},
        headers=dict(officer()),
    )
    assert rejected.status_code == 200

    # Six days after: the level and its scores are past the window. A later policy with a
    # longer window does not reopen it: the publication keeps the version it recorded.
    await published_days_ago(rating, worker, 6)
    assert await publish_policy(rating, appeal_window_days=30) == version + 1
    for late in (await appeal(), await appeal(score.json()["id"])):
        assert late.status_code == 409, late.text
        assert late.headers["content-type"].startswith("application/problem+json")
        problem = late.json()
        assert problem["type"] == "https://jiasao.gov.cn/problems/appeal-window-closed"
        assert problem["policy_version"] == version
        deadline = datetime.fromisoformat(problem["appeal_deadline"])
        assert timedelta(days=0.99) < utcnow() - deadline < timedelta(days=1.01)
        assert "5 days" in problem["detail"]
    english = await rating.client.post(
        "/api/v1/assessments/appeals",
        json={"year": YEAR - 1, "reason": "复核"},
        headers={**me, "Accept-Language": "en"},
    )
    assert english.json()["title"] == "Appeal window closed"

    # Scores of the open year are appealed at any time: their level is only provisional.
    current = await rating.rate(me, worker, year=YEAR, score=70)
    open_year = await rating.client.post(
        "/api/v1/assessments/appeals",
        json={"year": YEAR, "rating_id": current.json()["id"], "reason": "复核"},
        headers=dict(me),
    )
    assert open_year.status_code == 201, open_year.text
