"""The inbox consumer's promises, against a real nats-server and real databases."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

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
from tests.support.apps import eventually

SUBJECT = "rating.worker.changed"


async def publish_event(url: str, data: EventData, msg_id: str | None = None) -> CloudEvent[Any]:
    envelope = envelope_for(data)
    async with stream_reader(url) as js:
        await js.publish(
            SUBJECT,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": msg_id or envelope.id},
        )
    return envelope


async def started(runner: ConsumerRunner) -> ConsumerRunner:
    await runner.bus.start()
    await runner.bus.wait_connected(10)
    await runner.start()
    return runner


async def stop_all(*runners: ConsumerRunner) -> None:
    for runner in runners:
        await runner.stop()
        await runner.bus.close()


async def test_event_applied_once_even_when_published_twice(
    db: Database, nats_server: NatsServer
) -> None:
    runner = await started(
        ConsumerRunner(
            Subscription("test-effects", [SUBJECT], record_effect), db, rating_bus(nats_server.url)
        )
    )
    try:
        envelope = await publish_event(nats_server.url, rating_event())
        # Same CloudEvent again under another msg id: JetStream keeps both, the inbox drops one.
        await publish_event(nats_server.url, envelope.data and rating_event(), msg_id=None)
        same = envelope.model_dump_json().encode()
        async with stream_reader(nats_server.url) as js:
            await js.publish(SUBJECT, same, headers={"Nats-Msg-Id": envelope.id + "-again"})
        await eventually(lambda: _processed(runner, 3))
        assert await effect_count(db, envelope.id) == 1
        assert await effect_count(db) == 2
    finally:
        await stop_all(runner)


async def _processed(runner: ConsumerRunner, at_least: int) -> bool:
    return runner.processed >= at_least


async def test_redelivery_while_handler_is_slower_than_ack_wait_changes_state_once(
    db: Database, nats_server: NatsServer
) -> None:
    calls: list[str] = []

    async def slow_effect(session: Any, envelope: CloudEvent[Any], data: EventData) -> None:
        calls.append(envelope.id)
        if len(calls) == 1:
            await asyncio.sleep(2.5)  # longer than ack_wait: JetStream redelivers meanwhile
        await record_effect(session, envelope, data)

    subscription = Subscription("test-slow", [SUBJECT], slow_effect)
    # Two replicas share the durable consumer, so the redelivery runs while the first is busy.
    runners = [
        await started(ConsumerRunner(subscription, db, rating_bus(nats_server.url), ack_wait=1.0))
        for _ in range(2)
    ]
    try:
        envelope = await publish_event(nats_server.url, rating_event())
        await eventually(lambda: _delivered_twice(nats_server.url), timeout=20)
        await eventually(lambda: _no_pending(nats_server.url), timeout=20)
        assert await effect_count(db, envelope.id) == 1
        async with db.read() as session:
            rows = (await session.execute(select(inbox.c.event_id))).scalars().all()
        assert rows == [envelope.id]
    finally:
        await stop_all(*runners)


async def _delivered_twice(url: str) -> bool:
    async with stream_reader(url) as js:
        info = await js.consumer_info("RATING", "test-slow")
    return info.num_redelivered >= 1 or info.delivered.consumer_seq >= 2


async def _no_pending(url: str) -> bool:
    async with stream_reader(url) as js:
        info = await js.consumer_info("RATING", "test-slow")
    return info.num_ack_pending == 0 and info.num_pending == 0


async def test_poison_event_is_dead_lettered_after_max_deliver_and_others_keep_flowing(
    db: Database, nats_server: NatsServer
) -> None:
    poison_worker = rating_event().worker_id
    healed = False

    async def picky(session: Any, envelope: CloudEvent[Any], data: EventData) -> None:
        if data.worker_id == poison_worker and not healed:  # type: ignore[attr-defined]
            raise ValueError("cannot handle this worker")
        await record_effect(session, envelope, data)

    runner = await started(
        ConsumerRunner(
            Subscription("test-poison", [SUBJECT], picky),
            db,
            rating_bus(nats_server.url),
            max_deliver=3,
            nak_delay=0.05,
        )
    )
    try:
        poison = await publish_event(nats_server.url, rating_event(poison_worker))
        good = [await publish_event(nats_server.url, rating_event()) for _ in range(3)]
        for envelope in good:
            await eventually(lambda e=envelope: effect_count(db, e.id))
        rows = await eventually(lambda: _dead_letters(db))
        assert [(r.event_id, r.attempts, r.consumer) for r in rows] == [
            (poison.id, 3, "test-poison")
        ]
        assert "cannot handle this worker" in rows[0].error
        assert await effect_count(db, poison.id) == 0

        healed = True  # the operator deployed a fix; replay applies the event exactly once
        assert await runner.replay(rows[0].id) is True
        assert await runner.replay(rows[0].id) is False
        assert await effect_count(db, poison.id) == 1
        assert await _dead_letters(db) == []
    finally:
        await stop_all(runner)


async def _dead_letters(db: Database) -> list[Any]:
    async with db.read() as session:
        return list(
            (
                await session.execute(
                    select(dead_letters).where(dead_letters.c.replayed_at.is_(None))
                )
            ).all()
        )


async def test_undecodable_message_goes_straight_to_dead_letters(
    db: Database, nats_server: NatsServer
) -> None:
    runner = await started(
        ConsumerRunner(
            Subscription("test-garbage", [SUBJECT], record_effect), db, rating_bus(nats_server.url)
        )
    )
    try:
        async with stream_reader(nats_server.url) as js:
            await js.publish(SUBJECT, b"not json", headers={"Nats-Msg-Id": "garbage-1"})
        good = await publish_event(nats_server.url, rating_event())
        await eventually(lambda: effect_count(db, good.id))
        rows = await eventually(lambda: _dead_letters(db))
        assert rows[0].event_id == "garbage-1" and rows[0].attempts == 1
    finally:
        await stop_all(runner)


async def test_consumer_rebinds_after_nats_restart(db: Database, tmp_path) -> None:
    server = NatsServer(store_dir=tmp_path / "nats")
    server.start()
    runner = await started(
        ConsumerRunner(
            Subscription("test-rebind", [SUBJECT], record_effect), db, rating_bus(server.url)
        )
    )
    try:
        first = await publish_event(server.url, rating_event())
        await eventually(lambda: effect_count(db, first.id))
        server.kill()
        server.start()
        second = await publish_event(server.url, rating_event())
        await eventually(lambda: effect_count(db, second.id), timeout=30)
        assert await effect_count(db) == 2
    finally:
        await stop_all(runner)
        server.stop()
        server.cleanup()
