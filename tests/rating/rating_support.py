"""Helpers for the rating tests: a harness around the running app, upstream events, taps."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError
from sqlalchemy import func, select

from contracts.catalog import STREAMS, stream_for
from contracts.envelope import CloudEvent, EventData
from contracts.registry import WorkerRegistered
from services.kit.tables import outbox
from services.rating.models import KnownWorker
from tests.support.apps import context, eventually

Publish = Callable[[EventData], Awaitable[CloudEvent[Any]]]


@dataclass
class StreamTap:
    """An ephemeral JetStream pull consumer collecting every event on a subject."""

    sub: JetStreamContext.PullSubscription
    events: list[CloudEvent[Any]] = field(default_factory=list)

    async def poll(self) -> list[CloudEvent[Any]]:
        try:
            messages = await self.sub.fetch(100, timeout=0.2)
        except TimeoutError:
            return self.events
        for message in messages:
            await message.ack()
            self.events.append(CloudEvent[Any].model_validate_json(message.data))
        return self.events

    async def wait_for(self, count: int) -> list[CloudEvent[Any]]:
        async def enough() -> list[CloudEvent[Any]] | None:
            events = await self.poll()
            return events if len(events) >= count else None

        return await eventually(enough)


@dataclass
class RatingHarness:
    app: FastAPI
    client: httpx.AsyncClient
    js: JetStreamContext
    publish: Publish

    async def register(self, worker_id: uuid.UUID | None = None) -> uuid.UUID:
        """Announce a worker as the registry would, and wait until rating knows it."""
        worker_id = worker_id or uuid.uuid4()
        await self.publish(worker_registered(worker_id))
        db = context(self.app).db

        async def known() -> bool:
            async with db.read() as session:
                return await session.get(KnownWorker, worker_id) is not None

        await eventually(known)
        return worker_id

    async def outbox_count(self) -> int:
        async with context(self.app).db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(outbox)) or 0)

    async def tap(self, subject: str = "rating.worker.changed") -> StreamTap:
        """A fresh ephemeral consumer reading the stream from its start.

        Open it just before reading: NATS drops an idle ephemeral consumer after a few seconds.
        """
        return StreamTap(await self.js.pull_subscribe(subject, stream=stream_for(subject)))


def worker_registered(worker_id: uuid.UUID, **overrides: Any) -> WorkerRegistered:
    values: dict[str, Any] = {
        "worker_id": str(worker_id),
        "name": "陈秀英",
        "gender": "female",
        "birth_date": date(1978, 5, 4),
        "county": "gaoyao",
        "id_card_masked": "441202********123X",
        "phone_masked": "138****5678",
        "tracks": ["housekeeping"],
        "languages": ["cantonese"],
        "status": "registered",
        "company_id": None,
        "registered_at": datetime.now(UTC),
    }
    values.update(overrides)
    return WorkerRegistered(**values)


async def ensure_stream(js: JetStreamContext, name: str) -> None:
    config = StreamConfig(
        name=name, subjects=STREAMS[name], storage=StorageType.FILE, duplicate_window=120.0
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
