"""Credit's read model of workers, fed by real registry events over JetStream."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.credit.credit_support import Credit, worker_registered, worker_updated
from tests.support.apps import eventually

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CONSUMER = "credit-workers"


async def test_update_before_registration_keeps_newest_name_and_the_masked_id(
    credit: Credit,
) -> None:
    worker_id = uuid.uuid4()
    later = T0 + timedelta(days=2)
    await credit.peer.publish(worker_updated(worker_id, name="梁小红", at=later))
    await credit.peer.publish(worker_registered(worker_id, name="梁红", at=T0))
    await eventually(lambda: credit.processed(CONSUMER, 2))
    worker = await credit.worker(worker_id)
    assert worker is not None
    assert (worker.name, worker.as_of) == ("梁小红", later)
    assert worker.id_card_masked == "441202********123X"  # only the registration carries it


async def test_a_later_update_renames_but_keeps_the_masked_id(credit: Credit) -> None:
    worker_id = uuid.uuid4()
    envelope = await credit.peer.publish(worker_registered(worker_id, name="梁红", at=T0))
    await credit.peer.publish(envelope, msg_id=str(uuid.uuid4()))  # redelivered: no effect
    await credit.peer.publish(worker_updated(worker_id, name="梁小红", at=T0 + timedelta(1)))
    await eventually(lambda: credit.processed(CONSUMER, 3))
    worker = await credit.worker(worker_id)
    assert worker is not None
    assert (worker.name, worker.id_card_masked) == ("梁小红", "441202********123X")
