"""Issue 11: a provisional star level (an open year's evidence so far) is not an assessment;
only published levels become credit records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.rating import WorkerRatingChanged
from tests.credit.credit_support import Credit, officer
from tests.support.apps import eventually


async def test_only_published_levels_are_records(credit: Credit) -> None:
    worker, barrier = await credit.known_worker(), await credit.known_worker("黄美玲")
    start = datetime.now(UTC) - timedelta(hours=1)  # records count from their time on

    def level(who: uuid.UUID, stars: int, minutes: int, **extra: Any) -> WorkerRatingChanged:
        return WorkerRatingChanged(
            worker_id=str(who),
            year=2025,
            stars=stars,
            previous_stars=None,
            score=20 * stars - 5,
            changed_at=start + timedelta(minutes=minutes),
            policy_version=1,
            **extra,
        )

    async def kinds(who: uuid.UUID) -> list[str]:
        response = await credit.client.get(f"/api/v1/credit-files/worker/{who}", headers=officer())
        assert response.status_code == 200, response.text
        return sorted(line["kind"] for line in response.json()["explanation"])

    async def reached(who: uuid.UUID, expected: list[str]) -> None:
        async def probe() -> bool:
            return await kinds(who) == expected

        try:
            await eventually(probe)
        except AssertionError:
            raise AssertionError(f"wanted {expected}, have {await kinds(who)}") from None

    # The closing published two stars; a later provisional five (the next evidence of an open
    # year, or a stray redelivery) must not turn it into a positive record. The ratings
    # consumer applies events in order: once the barrier worker's record is there, the
    # provisional event was handled before it.
    await credit.peer.publish(level(worker, 2, 1))
    await reached(worker, ["rating_low"])
    await credit.peer.publish(level(worker, 5, 2, provisional=True))
    await credit.peer.publish(level(barrier, 4, 2))
    await reached(barrier, ["stars_high"])
    assert await kinds(worker) == ["rating_low"]
    # An upheld appeal republishes four stars: the record follows.
    await credit.peer.publish(level(worker, 4, 3))
    await reached(worker, ["stars_high"])
