"""Old sent outbox rows and inbox rows are deleted; unsent and parked rows stay. Real DBs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select

from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.outbox import Relay
from services.kit.retention import Retention, RetentionSettings
from services.kit.tables import inbox, outbox
from tests.kit.kit_harness import rating_bus
from tests.support.apps import eventually

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=8)
RECENT = NOW - timedelta(hours=1)


def _outbox_row(name: str, *, published: datetime | None, parked: datetime | None = None):  # type: ignore[no-untyped-def]
    return {
        "event_id": str(uuid.uuid4()),
        "subject": "rating.worker.changed",
        "event_type": name,
        "aggregate_id": str(uuid.uuid4()),
        "payload": "{}",
        "created_at": OLD,
        "published_at": published,
        "parked_at": parked,
        "attempts": 0,
    }


async def _seed(db: Database) -> None:
    async with db.write() as session:
        await session.execute(
            insert(outbox),
            [
                *[_outbox_row("old-sent", published=OLD) for _ in range(5)],
                _outbox_row("recent-sent", published=RECENT),
                _outbox_row("old-unsent", published=None),
                _outbox_row("old-parked", published=None, parked=OLD),
            ],
        )
        await session.execute(
            insert(inbox),
            [
                *[
                    {
                        "consumer": "c",
                        "event_id": str(uuid.uuid4()),
                        "event_type": "old",
                        "processed_at": OLD,
                    }
                    for _ in range(5)
                ],
                {
                    "consumer": "c",
                    "event_id": str(uuid.uuid4()),
                    "event_type": "recent",
                    "processed_at": RECENT,
                },
            ],
        )


async def _left(db: Database) -> tuple[list[str], list[str]]:
    async with db.read() as session:
        kept_outbox = (await session.scalars(select(outbox.c.event_type))).all()
        kept_inbox = (await session.scalars(select(inbox.c.event_type))).all()
    return sorted(kept_outbox), sorted(kept_inbox)


async def test_purge_deletes_sent_and_seen_rows_older_than_the_period(db: Database) -> None:
    await _seed(db)
    retention = Retention(db, RetentionSettings(event_retention_days=7), chunk=2)
    assert await retention.purge() == (5, 5)
    assert await _left(db) == (["old-parked", "old-unsent", "recent-sent"], ["recent"])
    assert not retention.due()
    assert await retention.purge() == (0, 0)


async def test_the_relay_holding_the_lease_purges(db: Database, nats_server: NatsServer) -> None:
    await _seed(db)
    bus = rating_bus(nats_server.url)
    await bus.start()
    await bus.wait_connected(10)
    relay = Relay(db, bus, poll_interval=0.05, retention=Retention(db, RetentionSettings()))
    await relay.start()
    try:
        expected = (["old-parked", "old-unsent", "recent-sent"], ["recent"])

        async def purged() -> bool:
            return await _left(db) == expected

        await eventually(purged)
    finally:
        await relay.stop()
        await bus.close()


def test_retention_may_not_be_shorter_than_the_duplicate_window() -> None:
    with pytest.raises(ValidationError):
        RetentionSettings(event_retention_days=60 / 86400)
    assert RetentionSettings().event_retention_days == 7
