"""The inbox applies pulled batches in one transaction and isolates a failing event.

Real nats-server, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from contracts.envelope import CloudEvent, EventData, envelope_for
from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.subscriptions import Subscription
from services.kit.tables import dead_letters, inbox
from tests.kit.kit_harness import (
    effect_count,
    rating_bus,
    rating_event,
    record_effect,
    stream_reader,
)
from tests.kit.test_inbox import publish_event, started, stop_all
from tests.support.apps import eventually

SUBJECT = "rating.worker.changed"


async def provision(url: str) -> None:
    """Create the stream first, so the events wait in it as a backlog."""
    bus = rating_bus(url)
    await bus.start()
    await bus.wait_connected(10)
    await bus.close()


async def _applied(db: Database, count: int) -> bool:
    return await effect_count(db) >= count


async def _inbox_rows(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(inbox)) or 0)


async def test_a_backlog_is_applied_in_few_transactions_each_event_once(
    db: Database, nats_server: NatsServer
) -> None:
    await provision(nats_server.url)
    envelopes = [await publish_event(nats_server.url, rating_event()) for _ in range(60)]
    # The same event again under another msg id, inside the same backlog.
    await publish_event(nats_server.url, rating_event(), msg_id=None)
    twin = envelopes[3]
    async with stream_reader(nats_server.url) as js:
        await js.publish(
            SUBJECT, twin.model_dump_json().encode(), headers={"Nats-Msg-Id": twin.id + "-2"}
        )
    runner = await started(
        ConsumerRunner(
            Subscription("test-batch", [SUBJECT], record_effect),
            db,
            rating_bus(nats_server.url),
            batch_size=25,
        )
    )
    try:
        await eventually(lambda: _applied(db, 61))
        await eventually(lambda: _processed(runner, 62))
        assert await effect_count(db) == 61
        for envelope in envelopes:
            assert await effect_count(db, envelope.id) == 1
        assert await _inbox_rows(db) == 61
        assert 1 <= runner.batch_commits <= 10, runner.batch_commits
    finally:
        await stop_all(runner)


async def _processed(runner: ConsumerRunner, count: int) -> bool:
    return runner.processed >= count


async def test_a_failing_event_in_a_batch_is_isolated_and_the_rest_applied_once(
    db: Database, nats_server: NatsServer
) -> None:
    bad_worker = rating_event().worker_id

    async def picky(session: Any, envelope: CloudEvent[Any], data: EventData) -> None:
        await record_effect(session, envelope, data)  # written, then rolled back for the bad one
        if data.worker_id == bad_worker:  # type: ignore[attr-defined]
            raise ValueError("cannot handle this worker")

    await provision(nats_server.url)
    good = [await publish_event(nats_server.url, rating_event()) for _ in range(20)]
    bad = await publish_event(nats_server.url, rating_event(bad_worker))
    good += [await publish_event(nats_server.url, rating_event()) for _ in range(20)]
    runner = await started(
        ConsumerRunner(
            Subscription("test-isolate", [SUBJECT], picky),
            db,
            rating_bus(nats_server.url),
            batch_size=50,
            max_deliver=2,
            nak_delay=0.05,
        )
    )
    try:
        await eventually(lambda: _applied(db, len(good)))
        rows = await eventually(lambda: _dead(db))
        assert [(r.event_id, r.attempts) for r in rows] == [(bad.id, 2)]
        for envelope in good:
            assert await effect_count(db, envelope.id) == 1
        assert await effect_count(db, bad.id) == 0, "nothing half-written for the failing event"
        assert await _inbox_rows(db) == len(good)
    finally:
        await stop_all(runner)


async def _dead(db: Database) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(select(dead_letters))).all())


async def test_a_batch_handler_gets_whole_batches_in_order_and_a_failure_is_isolated(
    db: Database, nats_server: NatsServer
) -> None:
    """A subscription's ``batch_handler`` applies many events in one call, in delivery order;
    a batch it fails on is retried one event at a time, so only the failing one is retried
    and dead-lettered."""
    bad_worker = rating_event().worker_id
    calls: list[list[str]] = []

    async def set_based(session: Any, events: Any) -> None:
        calls.append([envelope.id for envelope, _ in events])
        for envelope, data in events:
            await record_effect(session, envelope, data)
        if any(data.worker_id == bad_worker for _, data in events):
            raise ValueError("cannot handle this worker")

    async def unused(session: Any, envelope: CloudEvent[Any], data: EventData) -> None:
        raise AssertionError("the runner uses the batch handler")

    await provision(nats_server.url)
    good = [await publish_event(nats_server.url, rating_event()) for _ in range(20)]
    bad = await publish_event(nats_server.url, rating_event(bad_worker))
    good += [await publish_event(nats_server.url, rating_event()) for _ in range(20)]
    order = [envelope.id for envelope in good[:20]] + [bad.id] + [e.id for e in good[20:]]
    runner = await started(
        ConsumerRunner(
            Subscription("test-set-based", [SUBJECT], unused, batch_handler=set_based),
            db,
            rating_bus(nats_server.url),
            batch_size=50,
            max_deliver=2,
            nak_delay=0.05,
        )
    )
    try:
        await eventually(lambda: _applied(db, len(good)))
        rows = await eventually(lambda: _dead(db))
        assert [(r.event_id, r.attempts) for r in rows] == [(bad.id, 2)]
        for envelope in good:
            assert await effect_count(db, envelope.id) == 1
        assert await effect_count(db, bad.id) == 0
        assert await _inbox_rows(db) == len(good)
        assert any(len(call) > 1 for call in calls), calls
        for call in calls:  # each call in delivery order
            assert call == sorted(call, key=order.index), call
    finally:
        await stop_all(runner)


async def test_overlapping_batches_applied_concurrently_apply_each_event_once(
    db: Database, nats_server: NatsServer
) -> None:
    """Two replicas handed the same events in opposite orders (a redelivery racing the first
    delivery): each event's effect happens once, and neither transaction deadlocks the other."""
    events = [rating_event() for _ in range(6)]
    envelopes = [envelope_for(event) for event in events]
    pairs = list(zip(envelopes, events, strict=True))
    entered = asyncio.Event()

    async def slow_effect(session: Any, envelope: CloudEvent[Any], data: EventData) -> None:
        entered.set()
        await asyncio.sleep(0.05)  # hold the claimed inbox rows while the other one arrives
        await record_effect(session, envelope, data)

    subscription = Subscription("test-overlap", [SUBJECT], slow_effect)
    first, second = (
        ConsumerRunner(subscription, db, rating_bus(nats_server.url)) for _ in range(2)
    )

    async def later() -> int:
        await entered.wait()
        return await second.apply_many(list(reversed(pairs)))

    applied = await asyncio.gather(first.apply_many(pairs), later())
    assert sum(applied) == 6
    assert await effect_count(db) == 6
    assert await _inbox_rows(db) == 6
