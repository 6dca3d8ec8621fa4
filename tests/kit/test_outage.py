"""Database outages spend no delivery attempts: real nats-server, real SQLite and PostgreSQL.

The database really goes away: SQLite's directory is renamed (and the pools dropped, as a
restarted process would find it), PostgreSQL's test database refuses new connections and its
backends are terminated. Each outage lasts longer than the old retry budget (~8 s of nak
delays), with ``ack_wait`` short enough that an unattended message would be redelivered.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select, text

from contracts.envelope import CloudEvent, EventData
from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.subscriptions import Handler, Subscription
from services.kit.tables import dead_letters, inbox
from tests.kit.kit_harness import (
    effect_count,
    rating_bus,
    rating_event,
    record_effect,
    stream_reader,
)
from tests.kit.outage_harness import Outage
from tests.kit.test_inbox import publish_event, started, stop_all
from tests.support.apps import eventually

SUBJECT = "rating.worker.changed"
OUTAGE_S = 10.0


async def _tight_runner(
    name: str, handler: Handler, db: Database, nats_server: NatsServer
) -> ConsumerRunner:
    """A started consumer with a tight budget: the old runner dead-lettered after 2
    deliveries, 0.05 s apart; an unattended message is redelivered after 2 s."""
    return await started(
        ConsumerRunner(
            Subscription(name, [SUBJECT], handler),
            db,
            rating_bus(nats_server.url),
            max_deliver=2,
            nak_delay=0.05,
            ack_wait=2.0,
        )
    )


async def _dead_letters(db: Database) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(select(dead_letters))).all())


async def _dead_letters_once_up(db: Database) -> list[Any] | None:
    try:
        return await _dead_letters(db)
    except Exception:
        return None  # the database is still away


async def _consumer_info(url: str, name: str) -> Any:
    async with stream_reader(url) as js:
        return await js.consumer_info("RATING", name)


async def _all_applied(db: Database, count: int) -> bool:
    return await effect_count(db) >= count


async def test_events_consumed_during_a_long_outage_apply_once_after_it(
    outage_db: tuple[Database, Outage], nats_server: NatsServer
) -> None:
    db, outage = outage_db
    runner = await _tight_runner("test-outage", record_effect, db, nats_server)
    try:
        first = await publish_event(nats_server.url, rating_event())
        await eventually(lambda: effect_count(db, first.id))
        await outage.begin()
        during = [await publish_event(nats_server.url, rating_event()) for _ in range(20)]
        await asyncio.sleep(OUTAGE_S)
        await outage.end()
        await eventually(lambda: _all_applied(db, 21), timeout=30)
        for envelope in [first, *during]:
            assert await effect_count(db, envelope.id) == 1
        assert await effect_count(db) == 21
        info = await _consumer_info(nats_server.url, "test-outage")
        # Held in progress through the outage: no redelivery was spent on it.
        assert info.num_redelivered == 0
        assert await _dead_letters(db) == []
        assert runner.outage_waits > 0
        await eventually(lambda: _settled(nats_server.url, "test-outage"))
    finally:
        await stop_all(runner)


async def _settled(url: str, name: str) -> bool:
    info = await _consumer_info(url, name)
    return info.num_ack_pending == 0 and info.num_pending == 0


async def test_outage_at_the_last_attempt_still_ends_in_one_dead_letter(
    outage_db: tuple[Database, Outage], nats_server: NatsServer
) -> None:
    """The database fails just as the event used its last attempt: nothing is lost."""
    db, outage = outage_db
    calls = 0

    async def failing(session: Any, envelope: CloudEvent[Any], data: EventData) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the last attempt: the database goes away as the handler fails
            pid = None
            if not db.is_sqlite:
                pid = await session.scalar(select(func.pg_backend_pid()))
            await outage.begin(spare_pid=pid)
            asyncio.get_running_loop().call_later(
                OUTAGE_S, lambda: asyncio.ensure_future(outage.end())
            )
        raise ValueError("this event cannot be handled")

    runner = await _tight_runner("test-last", failing, db, nats_server)
    try:
        envelope = await publish_event(nats_server.url, rating_event())
        rows = await eventually(lambda: _dead_letters_once_up(db), timeout=OUTAGE_S + 30)
        assert [(r.event_id, r.attempts) for r in rows] == [(envelope.id, 2)]
        assert "cannot be handled" in rows[0].error
        await eventually(lambda: _settled(nats_server.url, "test-last"))
        info = await _consumer_info(nats_server.url, "test-last")
        assert info.delivered.consumer_seq == 2, "the server delivered it only twice"
        async with db.read() as session:
            assert (await session.execute(select(inbox))).all() == []
    finally:
        await stop_all(runner)


async def test_failed_ack_after_commit_is_not_a_handler_failure(
    db: Database, nats_server: NatsServer
) -> None:
    first_bus = rating_bus(nats_server.url)

    async def effect_then_lose_nats(
        session: Any, envelope: CloudEvent[Any], data: EventData
    ) -> None:
        await record_effect(session, envelope, data)
        await first_bus._close_quietly()  # the ack after the commit has no connection

    subscription = Subscription("test-ack", [SUBJECT], effect_then_lose_nats)
    # max_deliver=1: were the lost ack counted as a failure, this event would be dead-lettered.
    first = ConsumerRunner(subscription, db, first_bus, max_deliver=1, ack_wait=1.0)
    await first_bus.start()
    await first_bus.wait_connected(10)
    await first.start()
    envelope = await publish_event(nats_server.url, rating_event())
    await eventually(lambda: effect_count(db, envelope.id))
    await first.stop()
    # The replacement gets the redelivery; the inbox row makes it a no-op, and it is acked.
    second = await started(
        ConsumerRunner(
            Subscription("test-ack", [SUBJECT], record_effect),
            db,
            rating_bus(nats_server.url),
            max_deliver=1,
            ack_wait=1.0,
        )
    )
    try:
        await eventually(lambda: _settled(nats_server.url, "test-ack"), timeout=20)
        assert await effect_count(db, envelope.id) == 1
        assert await _dead_letters(db) == []
    finally:
        await stop_all(second)
        await first_bus.close()


async def test_a_statement_the_schema_refuses_is_the_handlers_failure_not_an_outage(
    db: Database, nats_server: NatsServer
) -> None:
    """A handler reading a table that does not exist fails its attempts and is dead-lettered
    (SQLite says OperationalError, PostgreSQL ProgrammingError): held as an outage it would
    stall the consumer forever."""

    async def reads_a_missing_table(
        session: Any, envelope: CloudEvent[Any], data: EventData
    ) -> None:
        await session.execute(text("SELECT count(*) FROM no_such_table"))

    runner = await _tight_runner("test-schema", reads_a_missing_table, db, nats_server)
    try:
        envelope = await publish_event(nats_server.url, rating_event())
        rows = await eventually(lambda: _dead_letters(db), timeout=20)
        assert [(r.event_id, r.attempts) for r in rows] == [(envelope.id, 2)]
        assert "no_such_table" in rows[0].error
        assert runner.outage_waits == 0
    finally:
        await stop_all(runner)
