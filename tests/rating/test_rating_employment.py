"""Rating's read model of who employs each worker, fed by registry events on a real NATS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.envelope import envelope_for
from contracts.registry import WorkerUpdated
from tests.rating.rating_support import RatingHarness, company_staff


def worker_updated(worker_id: uuid.UUID, at: datetime, **overrides: Any) -> WorkerUpdated:
    values: dict[str, Any] = {
        "worker_id": str(worker_id),
        "name": "陈秀英",
        "county": "gaoyao",
        "tracks": ["housekeeping"],
        "languages": ["cantonese"],
        "education": None,
        "target_groups": [],
        "health_check_valid_until": None,
        "no_criminal_record_valid_until": None,
        "updated_at": at,
        "status": "registered",
        "company_id": None,
    }
    values.update(overrides)
    return WorkerUpdated(**values)


async def test_a_registration_with_a_company_lets_that_company_rate(rating: RatingHarness) -> None:
    company = uuid.uuid4()
    worker = await rating.register(company_id=company)
    assert await rating.employment(worker) == company
    assert (await rating.rate(company_staff(company), worker)).status_code == 201


async def test_employment_follows_joining_moving_and_leaving(rating: RatingHarness) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    worker = await rating.register()
    assert await rating.employment(worker) is None

    await rating.employ(worker, first)
    assert await rating.employment(worker) == first
    await rating.employ(worker, second, previous=first)
    assert await rating.employment(worker) == second
    assert (await rating.rate(company_staff(first), worker)).status_code == 403
    assert (await rating.rate(company_staff(second), worker)).status_code == 201
    await rating.employ(worker, None, previous=second)
    assert await rating.employment(worker) is None
    assert (await rating.rate(company_staff(second), worker)).status_code == 403


async def test_an_older_event_arriving_late_does_not_undo_a_move(rating: RatingHarness) -> None:
    old, new = uuid.uuid4(), uuid.uuid4()
    worker = await rating.register()
    now = datetime.now(UTC)
    await rating.employ(worker, new, previous=old, at=now)
    # A replay (or a redelivery after a crash) of the earlier join comes in afterwards.
    await rating.employ(worker, old, at=now - timedelta(days=30))
    assert await rating.employment(worker) == new
    assert (await rating.rate(company_staff(old), worker)).status_code == 403


async def test_worker_updates_carry_the_company(rating: RatingHarness) -> None:
    company = uuid.uuid4()
    worker = await rating.register()
    now = datetime.now(UTC)
    await rating.handled(
        await rating.peer.publish(worker_updated(worker, now, company_id=str(company)))
    )
    assert await rating.employment(worker) == company

    # An update from a producer that predates the field says nothing about employment...
    silent = envelope_for(worker_updated(worker, now + timedelta(seconds=1)))
    del silent.data["company_id"]
    await rating.handled(await rating.peer.publish(silent))
    assert await rating.employment(worker) == company

    # ...while a null it does carry means the worker is now independent.
    await rating.handled(
        await rating.peer.publish(worker_updated(worker, now + timedelta(seconds=2)))
    )
    assert await rating.employment(worker) is None


async def test_employment_known_before_the_registration_does_not_make_a_worker(
    rating: RatingHarness,
) -> None:
    company = uuid.uuid4()
    worker = uuid.uuid4()
    joined = datetime.now(UTC)
    await rating.employ(worker, company, at=joined)
    early = await rating.rate(company_staff(company), worker)
    assert early.status_code == 422
    assert early.json()["type"].endswith("/unknown-worker")

    # The registration (no company yet) is older than the join that followed it: the join stands.
    await rating.register(worker, registered_at=joined - timedelta(minutes=5))
    assert await rating.employment(worker) == company
    assert (await rating.rate(company_staff(company), worker)).status_code == 201
