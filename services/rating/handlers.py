"""Rating's event consumers: it learns which workers exist from the registry."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import WorkerRegistered
from services.kit.inbox import Subscription
from services.rating import service


async def handle_worker_registered(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, WorkerRegistered):
        raise TypeError(f"rating-workers got {envelope.type}")  # a wiring bug: dead-letter it
    await service.record_worker(session, uuid.UUID(data.worker_id), data.registered_at)


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("rating-workers", [WorkerRegistered.subject], handle_worker_registered),
)
