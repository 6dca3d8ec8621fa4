"""The outbox's promises, against a real nats-server and real databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.outbox import Relay, publish, publish_many, traceparent_var
from services.kit.tables import outbox
from tests.kit.kit_harness import (
    pending_outbox,
    rating_bus,
    rating_event,
    stream_count,
    stream_messages,
)
from tests.support.apps import eventually


async def test_rolled_back_transaction_publishes_nothing(
    db: Database, nats_server: NatsServer
) -> None:
    bus = rating_bus(nats_server.url)
    await bus.start()
    await bus.wait_connected(10)
    relay = Relay(db, bus, poll_interval=0.05)
    await relay.start()
    try:
        with pytest.raises(RuntimeError):
            async with db.write() as session:
                await publish(session, rating_event())
                raise RuntimeError("operation failed after writing its event")
        # A committed event afterwards proves the relay ran past the point of the rollback.
        async with db.write() as session:
            committed = await publish(session, rating_event())
        messages = await eventually(lambda: stream_messages(nats_server.url))
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [committed.id]
        async with db.read() as session:
            assert (await session.execute(select(outbox.c.event_id))).scalars().all() == [
                committed.id
            ]
    finally:
        await relay.stop()
        await bus.close()


async def test_event_written_while_nats_is_down_is_delivered_after_it_returns(
    db: Database, tmp_path
) -> None:
    server = NatsServer(store_dir=tmp_path / "nats")
    bus = rating_bus(server.url)
    await bus.start()  # connects in the background; the server is not running yet
    relay = Relay(db, bus, poll_interval=0.05, max_backoff=0.2)
    await relay.start()
    try:
        async with db.write() as session:
            envelope = await publish(session, rating_event())
        await asyncio.sleep(0.5)
        assert await pending_outbox(db) == 1, "nothing can be published while NATS is down"
        server.start()
        messages = await eventually(lambda: stream_messages(server.url), timeout=20)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [envelope.id]
        assert await eventually(lambda: _zero(pending_outbox(db)))
    finally:
        await relay.stop()
        await bus.close()
        server.stop()
        server.cleanup()


async def _zero(count_coro) -> bool:  # type: ignore[no-untyped-def]
    return (await count_coro) == 0


async def test_publish_retried_with_same_id_is_stored_once(nats_server: NatsServer) -> None:
    bus = rating_bus(nats_server.url)
    await bus.start()
    await bus.wait_connected(10)
    try:
        first = await bus.publish("rating.worker.changed", b"{}", msg_id="evt-1")
        again = await bus.publish("rating.worker.changed", b"{}", msg_id="evt-1")
        assert again.duplicate and not first.duplicate
        assert await stream_count(nats_server.url) == 1
    finally:
        await bus.close()


async def test_relay_crash_after_publish_before_marking_sent_republishes_harmlessly(
    db: Database, nats_server: NatsServer
) -> None:
    bus = rating_bus(nats_server.url)
    await bus.start()
    await bus.wait_connected(10)
    try:
        async with db.write() as session:
            envelope = await publish(session, rating_event())
        crashing = Relay(db, bus)

        async def crash(*_: object) -> None:
            raise SystemError("process died before marking the row sent")

        crashing._mark_unmarked = crash  # type: ignore[method-assign]
        with pytest.raises(SystemError):
            await crashing.publish_pending()
        assert await pending_outbox(db) == 1
        # A new process: the lease of the dead one must lapse before it may publish.
        successor = Relay(db, bus, lease_seconds=10)
        await crashing._release_lease()
        assert await successor.publish_pending() == 1
        messages = await stream_messages(nats_server.url)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [envelope.id]
        assert await pending_outbox(db) == 0
    finally:
        await bus.close()


async def test_two_relays_publish_every_event_once_in_commit_order(
    db: Database, nats_server: NatsServer
) -> None:
    bus_a, bus_b = rating_bus(nats_server.url), rating_bus(nats_server.url)
    for bus in (bus_a, bus_b):
        await bus.start()
        await bus.wait_connected(10)
    relays = [Relay(db, bus_a, poll_interval=0.02), Relay(db, bus_b, poll_interval=0.02)]
    for relay in relays:
        await relay.start()
    workers = [rating_event().worker_id for _ in range(5)]
    expected: list[str] = []
    try:
        for round_ in range(8):
            for worker in workers:
                async with db.write() as session:
                    envelope = await publish(session, rating_event(worker, stars=1 + round_ % 5))
                expected.append(envelope.id)
        await eventually(lambda: _zero(pending_outbox(db)), timeout=30)
        messages = await stream_messages(nats_server.url)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == expected
        # Only one relay held the lease at a time, but together they published everything.
        assert sum(r.published_total for r in relays) >= len(expected)
    finally:
        for relay in relays:
            await relay.stop()
        for bus in (bus_a, bus_b):
            await bus.close()


async def test_relay_wakes_on_commit_without_waiting_for_its_poll(
    db: Database, nats_server: NatsServer
) -> None:
    bus = rating_bus(nats_server.url)
    await bus.start()
    await bus.wait_connected(10)
    relay = Relay(db, bus, poll_interval=3600)  # only a wake-up can make it publish
    db.on_commit(relay.wake)
    await relay.start()
    try:
        async with db.write() as session:
            envelope = await publish(session, rating_event())
        messages = await eventually(lambda: stream_messages(nats_server.url), timeout=10)
        assert messages[0].headers["Nats-Msg-Id"] == envelope.id
    finally:
        await relay.stop()
        await bus.close()


async def test_publish_many_writes_the_rows_publish_would_in_the_order_given(
    db: Database, nats_server: NatsServer
) -> None:
    worker = rating_event().worker_id
    datas = [rating_event(worker, stars=1 + n % 5) for n in range(7)]
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = traceparent_var.set(trace)
    try:
        async with db.write() as session:
            single = await publish(session, datas[0])
            many = await publish_many(session, datas[1:])
            assert await publish_many(session, []) == []
    finally:
        traceparent_var.reset(token)
    envelopes = [single, *many]
    assert [e.data for e in envelopes] == [d.model_dump(mode="json") for d in datas]
    async with db.read() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).mappings().all()
    # Same columns, filled the same way, whichever function wrote the row.
    assert [r["event_id"] for r in rows] == [e.id for e in envelopes]
    for row, envelope in zip(rows, envelopes, strict=True):
        assert row["payload"] == envelope.model_dump_json()
        assert (row["subject"], row["event_type"], row["aggregate_id"]) == (
            "rating.worker.changed",
            envelope.type,
            worker,
        )
        assert (row["attempts"], row["published_at"], row["last_error"]) == (0, None, None)
        assert envelope.traceparent == trace
    bus = rating_bus(nats_server.url)
    await bus.start()
    await bus.wait_connected(10)
    try:
        assert await Relay(db, bus).publish_pending() == len(datas)
        messages = await stream_messages(nats_server.url)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [e.id for e in envelopes]
    finally:
        await bus.close()


async def test_publish_many_rolled_back_publishes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await publish_many(session, [rating_event(), rating_event()])
            raise RuntimeError("operation failed after writing its events")
    assert await pending_outbox(db) == 0
