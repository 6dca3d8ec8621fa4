"""A tiny service-shaped harness for kit tests: kit tables plus one effects table, real DB/NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalog import STREAMS
from contracts.envelope import CloudEvent, EventData
from contracts.rating import WorkerRatingChanged
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.tables import kit_metadata, outbox

test_metadata = MetaData()
#: What handlers change; one row per applied event, so "changed once" is countable.
effects = Table(
    "test_effects",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("worker_id", String(36), nullable=False),
)


async def create_schema(db: Database) -> None:
    async with db.write_engine.begin() as connection:
        await connection.run_sync(kit_metadata.create_all)
        await connection.run_sync(test_metadata.create_all)


def rating_event(worker_id: str | None = None, stars: int = 3) -> WorkerRatingChanged:
    return WorkerRatingChanged(
        worker_id=worker_id or str(uuid.uuid4()),
        year=2026,
        stars=stars,
        previous_stars=None,
        score=float(stars * 18),
        changed_at=datetime.now(UTC),
    )


async def record_effect(session: AsyncSession, envelope: CloudEvent[Any], data: EventData) -> None:
    await session.execute(
        insert(effects).values(event_id=envelope.id, worker_id=data.worker_id)  # type: ignore[attr-defined]
    )


async def effect_count(db: Database, event_id: str | None = None) -> int:
    query = select(func.count()).select_from(effects)
    if event_id is not None:
        query = query.where(effects.c.event_id == event_id)
    async with db.read() as session:
        return int(await session.scalar(query) or 0)


async def pending_outbox(db: Database) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            or 0
        )


def rating_bus(url: str) -> Bus:
    return Bus(url, name="kit-test", streams={"RATING": STREAMS["RATING"]})


@asynccontextmanager
async def stream_reader(url: str) -> AsyncIterator[nats.js.JetStreamContext]:
    nc = await nats.connect(url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def stream_messages(url: str, stream: str = "RATING") -> list[Any]:
    """All messages in ``stream`` in order, read with an ephemeral consumer."""
    async with stream_reader(url) as js:
        try:
            info = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return []  # not provisioned yet
        total = info.state.messages
        if total == 0:
            return []
        sub = await js.pull_subscribe(
            "rating.>",
            stream=stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=5),
        )
        messages: list[Any] = []
        while len(messages) < total:
            batch = await sub.fetch(total - len(messages), timeout=5)
            for message in batch:
                await message.ack()
            messages.extend(batch)
        await sub.unsubscribe()
        return messages


async def stream_count(url: str, stream: str = "RATING") -> int:
    async with stream_reader(url) as js:
        try:
            return int((await js.stream_info(stream)).state.messages)
        except nats.js.errors.NotFoundError:
            return 0
