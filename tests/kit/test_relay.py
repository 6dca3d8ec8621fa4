"""The relay under contention: standbys stay quiet, the lease runs on the database's clock,
per-aggregate order holds with relays racing, and an unpublishable row is parked, not a stall.

Real nats-server, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from devtools.nats import NatsServer
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.outbox import Relay, publish
from services.kit.relay_lease import database_now
from services.kit.tables import outbox, relay_lease
from tests.kit.kit_harness import pending_outbox, rating_bus, rating_event, stream_messages
from tests.support.apps import eventually


async def connected(url: str) -> Bus:
    bus = rating_bus(url)
    await bus.start()
    await bus.wait_connected(10)
    return bus


async def _none_pending(db: Database) -> bool:
    return await pending_outbox(db) == 0


async def test_standby_makes_a_few_lease_attempts_per_lease_period_however_busy(
    db: Database, nats_server: NatsServer
) -> None:
    bus = await connected(nats_server.url)
    lease_seconds = 1.0
    holder = Relay(db, bus, poll_interval=0.02, lease_seconds=lease_seconds, holder="holder")
    standby = Relay(db, bus, poll_interval=0.02, lease_seconds=lease_seconds, holder="standby")
    # Both replicas' commits wake both relays, as in one process per replica.
    db.on_commit(holder.wake)
    db.on_commit(standby.wake)
    await holder.publish_pending()  # the holder has the lease before the standby starts
    for relay in (holder, standby):
        await relay.start()
    periods = 3
    written = 0
    try:
        deadline = time.monotonic() + periods * lease_seconds
        while time.monotonic() < deadline:
            async with db.write() as session:
                await publish(session, rating_event())
            written += 1
            await asyncio.sleep(0.01)
        await eventually(lambda: _none_pending(db), timeout=20)
        # Old relays tried on every wake and poll: ~150 attempts in these 3 s.
        assert standby.lease.attempts <= 2 * periods + 2, standby.lease.attempts
        assert holder.lease.attempts <= 2 * periods + 2, holder.lease.attempts
        assert standby.published_total == 0
        assert holder.published_total == written
    finally:
        for relay in (holder, standby):
            await relay.stop()
        await bus.close()


async def test_commits_without_outbox_rows_do_not_wake_the_relay(
    db: Database, nats_server: NatsServer
) -> None:
    bus = await connected(nats_server.url)
    holder = Relay(db, bus, poll_interval=3600, holder="holder")
    standby = Relay(db, bus, poll_interval=3600, holder="standby")
    db.on_commit(standby.wake)
    assert await holder.publish_pending() == 0  # takes the lease
    await standby.start()
    try:
        async with db.write() as session:
            await publish(session, rating_event())  # wakes the standby once
        await asyncio.sleep(1.0)
        # Its own lease attempt is a commit too; it must not wake itself with it.
        assert standby.lease.attempts == 1
        async with db.write() as session:
            await session.execute(select(1))  # a commit that wrote no event
        await asyncio.sleep(0.3)
        assert standby.lease.attempts == 1
    finally:
        await standby.stop()
        await holder.stop()
        await bus.close()


async def test_lease_uses_the_database_clock_not_the_hosts(
    db: Database, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = await connected(nats_server.url)
    try:
        holder = Relay(db, bus, lease_seconds=30, holder="holder")
        async with db.write() as session:
            await publish(session, rating_event())
        assert await holder.publish_pending() == 1
        async with db.read() as session:
            expires_at, now = (
                await session.execute(select(relay_lease.c.expires_at, database_now(db)))
            ).one()
        assert 25 < expires_at - now <= 30
        # A host whose clock runs an hour ahead must not think the live lease has lapsed.
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
        skewed = Relay(db, bus, lease_seconds=30, holder="skewed")
        async with db.write() as session:
            await publish(session, rating_event())
        assert await skewed.publish_pending() == 0
        await holder._release_lease()
        skewed.lease._retry_at = 0.0  # the test does not wait out the standby's pause
        assert await skewed.publish_pending() == 1
    finally:
        await bus.close()


async def test_two_relays_racing_keep_each_aggregates_order(
    db: Database, nats_server: NatsServer
) -> None:
    """Writers commit concurrently per aggregate while relays are replaced again and again."""
    buses = [await connected(nats_server.url) for _ in range(2)]
    aggregates = [str(uuid.uuid4()) for _ in range(6)]
    committed: dict[str, list[str]] = defaultdict(list)

    async def writer(worker: str) -> None:
        for round_ in range(15):
            async with db.write() as session:
                envelope = await publish(session, rating_event(worker, stars=1 + round_ % 5))
            committed[worker].append(envelope.id)
            await asyncio.sleep(0.003)

    def new_relay(index: int) -> Relay:
        # A small batch and a short lease: many passes and many hand-overs.
        return Relay(db, buses[index % 2], poll_interval=0.01, lease_seconds=0.4, batch_size=7)

    relays = [new_relay(0), new_relay(1)]
    for relay in relays:
        await relay.start()
    writing = asyncio.gather(*(writer(worker) for worker in aggregates))
    try:
        for turn in range(8):  # replace one relay at a time, releasing its lease mid-stream
            await asyncio.sleep(0.08)
            old = relays[turn % 2]
            await old.stop()
            relays[turn % 2] = new_relay(turn)
            await relays[turn % 2].start()
        await writing
        await eventually(lambda: _none_pending(db), timeout=30)
        messages = await stream_messages(nats_server.url)
        ids = [m.headers["Nats-Msg-Id"] for m in messages]
        assert len(ids) == len(set(ids)) == 6 * 15, "every event once"
        order = {event_id: index for index, event_id in enumerate(ids)}
        for worker in aggregates:
            published = sorted(committed[worker], key=order.__getitem__)
            assert published == committed[worker], "an aggregate's events left in commit order"
    finally:
        for relay in relays:
            await relay.stop()
        for bus in buses:
            await bus.close()


async def test_unpublishable_row_is_parked_and_only_its_aggregate_waits(
    db: Database, nats_server: NatsServer
) -> None:
    bus = await connected(nats_server.url)
    stuck, other = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        async with db.write() as session:
            before = await publish(session, rating_event(stuck))
            # A payload over the server's max_payload (1 MB): JetStream can never take it.
            await session.execute(
                insert(outbox).values(
                    event_id=str(uuid.uuid4()),
                    subject="rating.worker.changed",
                    event_type="test.too-large",
                    aggregate_id=stuck,
                    payload="x" * (1024 * 1024 + 10),
                    created_at=datetime.now(UTC),
                    attempts=0,
                )
            )
            held = await publish(session, rating_event(stuck))
            others = [await publish(session, rating_event(other)) for _ in range(3)]
        relay = Relay(db, bus, poll_interval=0.02)
        await relay.start()
        try:
            await eventually(lambda: _published(nats_server.url, 1 + len(others)))
            async with db.write() as session:
                later = await publish(session, rating_event(other))  # the outbox keeps flowing
            await eventually(lambda: _published(nats_server.url, 2 + len(others)))
            parked = await relay.parked()
        finally:
            await relay.stop()
        ids = [m.headers["Nats-Msg-Id"] for m in await stream_messages(nats_server.url)]
        assert ids == [before.id, *[e.id for e in others], later.id]
        assert len(parked) == 1 and parked[0].aggregate_id == stuck
        assert parked[0].attempts == 1 and "MaxPayload" in parked[0].last_error
        assert relay.parked_total == 1
        async with db.read() as session:
            waiting = await session.scalar(
                select(outbox.c.published_at).where(outbox.c.event_id == held.id)
            )
        assert waiting is None, "the later event of the parked aggregate waits behind it"
    finally:
        await bus.close()


async def _published(url: str, count: int) -> bool:
    return len(await stream_messages(url)) >= count
