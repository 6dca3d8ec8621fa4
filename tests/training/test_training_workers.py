"""Training's read model of workers, fed by real registry events over JetStream."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.support.apps import context, eventually
from tests.training.training_support import Training, worker_registered, worker_updated

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


async def processed(training: Training, count: int) -> bool:
    return context(training.app).runners["training-workers"].processed >= count


async def test_registration_makes_a_worker_known(training: Training) -> None:
    worker_id = uuid.uuid4()
    await training.peer.publish(worker_registered(worker_id, name="梁小红", at=T0))
    worker = await eventually(lambda: training.worker(worker_id))
    assert (worker.name, worker.county, worker.as_of) == ("梁小红", "gaoyao", T0)


async def test_an_older_event_arriving_late_is_ignored(training: Training) -> None:
    worker_id = uuid.uuid4()
    later = T0 + timedelta(days=3)
    await training.peer.publish(worker_updated(worker_id, name="梁小红", county="sihui", at=later))
    await training.peer.publish(worker_registered(worker_id, name="梁红", at=T0))
    await eventually(lambda: processed(training, 2))
    worker = await training.worker(worker_id)
    assert worker is not None
    assert (worker.name, worker.county, worker.as_of) == ("梁小红", "sihui", later)

    # A newer update still applies.
    newest = later + timedelta(hours=1)
    await training.peer.publish(worker_updated(worker_id, name="梁小紅", at=newest))
    await eventually(lambda: processed(training, 3))
    worker = await training.worker(worker_id)
    assert worker is not None and worker.name == "梁小紅"


async def test_redelivered_event_is_applied_once(training: Training) -> None:
    worker_id = uuid.uuid4()
    envelope = await training.peer.publish(worker_registered(worker_id, at=T0))
    # Same CloudEvent id under a different Nats-Msg-Id: JetStream keeps both, the inbox one.
    await training.peer.publish(envelope, msg_id=str(uuid.uuid4()))
    await eventually(lambda: processed(training, 2))
    assert await training.worker(worker_id) is not None
