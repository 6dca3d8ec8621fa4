"""The running relay marks published rows sent together, not in a transaction per pass.

Real nats-server, real SQLite and PostgreSQL. A row published but not yet marked is not
published again by the next passes, a stop marks what is still unmarked, and the marks land
within ``mark_delay`` while the relay is otherwise idle.
"""

from __future__ import annotations

from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.outbox import Relay, publish
from tests.kit.kit_harness import pending_outbox, rating_event, stream_messages
from tests.kit.test_relay import connected
from tests.support.apps import eventually


async def _stream_has(url: str, count: int) -> bool:
    return len(await stream_messages(url)) >= count


async def _commit_one(db: Database) -> None:
    async with db.write() as session:
        await publish(session, rating_event())


async def test_rows_published_in_several_passes_are_marked_once_each_on_stop(
    db: Database, nats_server: NatsServer
) -> None:
    bus = await connected(nats_server.url)
    relay = Relay(db, bus, poll_interval=0.05, mark_delay=3600)
    db.on_commit(relay.wake)
    await relay.start()
    try:
        for count in (1, 2, 3):  # one commit, one wake, one pass each
            await _commit_one(db)
            await eventually(lambda c=count: _stream_has(nats_server.url, c), timeout=10)
        # All three are in the stream; none is marked yet, and none was published twice
        # although each later pass read the earlier rows as still unsent.
        assert await pending_outbox(db) == 3
        assert relay.published_total == 3
        assert len(await stream_messages(nats_server.url)) == 3
    finally:
        await relay.stop()
        await bus.close()
    assert await pending_outbox(db) == 0


async def test_marks_land_within_the_mark_delay_while_idle(
    db: Database, nats_server: NatsServer
) -> None:
    bus = await connected(nats_server.url)
    relay = Relay(db, bus, poll_interval=3600, mark_delay=0.05)
    db.on_commit(relay.wake)
    await relay.start()
    try:
        for _ in range(5):
            await _commit_one(db)
        # poll_interval is an hour: only the mark deadline can bring the relay back.
        await eventually(lambda: _none_pending(db), timeout=10)
        assert relay.published_total == 5
    finally:
        await relay.stop()
        await bus.close()


async def _none_pending(db: Database) -> bool:
    return await pending_outbox(db) == 0


async def test_publish_pending_called_directly_marks_at_once(
    db: Database, nats_server: NatsServer
) -> None:
    bus = await connected(nats_server.url)
    try:
        for _ in range(4):
            await _commit_one(db)
        relay = Relay(db, bus, mark_delay=3600)
        assert await relay.publish_pending() == 4
        assert await pending_outbox(db) == 0
    finally:
        await bus.close()
