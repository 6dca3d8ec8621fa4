"""A subscription's transaction handler: events and inbox rows on the plain driver.

Real nats-server, real SQLite files and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select

from contracts.envelope import CloudEvent, EventData, envelope_for
from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.statements import Statement
from services.kit.subscriptions import NeedsSession, Subscription
from services.kit.tables import dead_letters, inbox
from services.kit.transactions import DriverTransaction, SqliteTransaction, Transaction
from tests.kit.kit_harness import (
    effect_count,
    effects,
    rating_bus,
    rating_event,
    record_effect,
    stream_reader,
)
from tests.kit.test_inbox import publish_event, started, stop_all
from tests.kit.test_inbox_batch import SUBJECT, provision
from tests.support.apps import eventually

Events = Sequence[tuple[CloudEvent[Any], EventData]]

_RECORD = Statement(
    insert(effects).values(event_id=bindparam("event_id"), worker_id=bindparam("worker_id"))
)


class Recorder:
    """A transaction handler that records each event's effect, and which path ran it."""

    def __init__(self, session_for: set[str] = frozenset(), fail_for: set[str] = frozenset()):
        self.session_for = session_for  # workers whose events need the session path
        self.fail_for = fail_for  # workers whose events the handler cannot apply
        self.on_driver = 0
        self.batches: list[int] = []

    async def __call__(self, tx: Transaction, events: Events) -> None:
        self.batches.append(len(events))
        if isinstance(tx, DriverTransaction | SqliteTransaction):
            self.on_driver += len(events)
        for envelope, data in events:
            worker = data.worker_id  # type: ignore[attr-defined]
            # Written first: a later refusal must roll it back.
            await tx.execute(_RECORD, event_id=envelope.id, worker_id=worker)
            if worker in self.fail_for:
                raise ValueError("cannot handle this worker")
            if worker in self.session_for:
                raise NeedsSession


async def _inbox_rows(db: Database, consumer: str) -> list[tuple[str, str]]:
    async with db.read() as session:
        rows = await session.execute(
            select(inbox.c.event_id, inbox.c.event_type).where(inbox.c.consumer == consumer)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_backlog_runs_on_the_driver_in_batches_each_event_once(
    db: Database, nats_server: NatsServer
) -> None:
    await provision(nats_server.url)
    envelopes = [await publish_event(nats_server.url, rating_event()) for _ in range(40)]
    # The same event under another message id: delivered twice, applied once.
    twin = envelopes[5]
    async with stream_reader(nats_server.url) as js:
        await js.publish(
            SUBJECT, twin.model_dump_json().encode(), headers={"Nats-Msg-Id": twin.id + "-2"}
        )
    recorder = Recorder()
    runner = await started(
        ConsumerRunner(
            Subscription("test-tx", [SUBJECT], record_effect, transaction_handler=recorder),
            db,
            rating_bus(nats_server.url),
            batch_size=15,
        )
    )
    try:
        await eventually(lambda: _at_least(runner, 41))
        assert await effect_count(db) == 40
        for envelope in envelopes:
            assert await effect_count(db, envelope.id) == 1
        rows = await _inbox_rows(db, "test-tx")
        assert sorted(rows) == sorted((e.id, e.type) for e in envelopes)
        assert recorder.on_driver == 40, "every event ran on the plain driver"
        assert max(recorder.batches) > 1, recorder.batches
    finally:
        await stop_all(runner)


async def _at_least(runner: ConsumerRunner, count: int) -> bool:
    return runner.processed >= count


async def test_events_the_handler_leaves_to_the_session_are_applied_there_once(
    db: Database,
) -> None:
    """NeedsSession rolls back what the transaction wrote (its effects and inbox rows); the
    session handler then applies the same events, each once."""
    special = rating_event()
    events = [rating_event(), special, rating_event()]
    pairs = [(envelope_for(e), e) for e in events]
    recorder = Recorder(session_for={special.worker_id})
    runner = ConsumerRunner(
        Subscription("test-tx-fallback", [SUBJECT], record_effect, transaction_handler=recorder),
        db,
        rating_bus("nats://127.0.0.1:1"),  # not started: apply_many needs no bus
    )
    assert await runner.apply_many(pairs) == 3
    assert recorder.batches == [3]
    assert await effect_count(db) == 3
    for envelope, _ in pairs:
        assert await effect_count(db, envelope.id) == 1
    assert len(await _inbox_rows(db, "test-tx-fallback")) == 3
    # Seen now: a redelivery changes nothing on either path.
    assert await runner.apply_many(pairs) == 0
    assert await effect_count(db) == 3


async def test_a_constraint_the_handler_trips_goes_to_the_session_path(db: Database) -> None:
    """A unique key the transaction handler violates (a concurrent delivery, say): rolled back
    and applied through the session handler, which settles it as it always did."""
    event = rating_event()
    pair = (envelope_for(event), event)
    calls: list[int] = []

    async def twice(tx: Transaction, events: Events) -> None:
        calls.append(len(events))
        await tx.execute(_CLAIM_AGAIN, consumer="test-tx-unique", event_id=pair[0].id)

    runner = ConsumerRunner(
        Subscription("test-tx-unique", [SUBJECT], record_effect, transaction_handler=twice),
        db,
        rating_bus("nats://127.0.0.1:1"),
    )
    assert await runner.apply_many([pair]) == 1
    assert calls == [1]
    assert await effect_count(db, pair[0].id) == 1
    assert len(await _inbox_rows(db, "test-tx-unique")) == 1


#: The inbox row again: a primary-key violation in the handler's own transaction.
_CLAIM_AGAIN = Statement(
    insert(inbox).values(
        consumer=bindparam("consumer"),
        event_id=bindparam("event_id"),
        event_type="x",
        processed_at=func.now(),
    )
)


async def test_a_failing_event_is_isolated_retried_and_dead_lettered(
    db: Database, nats_server: NatsServer
) -> None:
    await provision(nats_server.url)
    bad = rating_event()
    good = [await publish_event(nats_server.url, rating_event()) for _ in range(10)]
    failing = await publish_event(nats_server.url, bad)
    good += [await publish_event(nats_server.url, rating_event()) for _ in range(10)]
    recorder = Recorder(fail_for={bad.worker_id})
    runner = await started(
        ConsumerRunner(
            Subscription("test-tx-fail", [SUBJECT], record_effect, transaction_handler=recorder),
            db,
            rating_bus(nats_server.url),
            batch_size=50,
            max_deliver=2,
            nak_delay=0.05,
        )
    )
    try:
        rows = await eventually(lambda: _dead(db))
        assert [(r.event_id, r.attempts) for r in rows] == [(failing.id, 2)]
        for envelope in good:
            assert await effect_count(db, envelope.id) == 1
        assert await effect_count(db, failing.id) == 0, "nothing half-written"
        assert {e for e, _ in await _inbox_rows(db, "test-tx-fail")} == {e.id for e in good}
    finally:
        await stop_all(runner)


async def _dead(db: Database) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(select(dead_letters))).all())


async def test_concurrent_deliveries_on_the_driver_apply_each_event_once(db: Database) -> None:
    """Two replicas handed the same events in opposite orders: each effect happens once, and
    neither transaction deadlocks the other."""
    pairs = [(envelope_for(e), e) for e in (rating_event() for _ in range(6))]
    entered = asyncio.Event()

    async def slow(tx: Transaction, events: Events) -> None:
        entered.set()
        await asyncio.sleep(0.05)  # hold the claimed inbox rows while the other one arrives
        for envelope, data in events:
            await tx.execute(_RECORD, event_id=envelope.id, worker_id=data.worker_id)  # type: ignore[attr-defined]

    subscription = Subscription("test-tx-race", [SUBJECT], record_effect, transaction_handler=slow)
    first, second = (
        ConsumerRunner(subscription, db, rating_bus("nats://127.0.0.1:1")) for _ in range(2)
    )

    async def later() -> int:
        await entered.wait()
        return await second.apply_many(list(reversed(pairs)))

    applied = await asyncio.gather(first.apply_many(pairs), later())
    assert sum(applied) == 6
    assert await effect_count(db) == 6
