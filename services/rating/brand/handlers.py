"""The brand's event consumers: the 技术能手 roll from training's awards, and what a public
roll may show of each worker (masked name, county) from the registry."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import WorkerRegistered, WorkerUpdated
from contracts.training import CompetitionAwarded
from services.kit.subscriptions import Subscription
from services.rating.brand import service


async def handle_competition_awarded(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, CompetitionAwarded):
        raise TypeError(f"rating-skill-masters got {envelope.type}")  # a wiring bug: dead-letter
    await service.record_award(session, data)


async def handle_brand_worker(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if isinstance(data, WorkerRegistered):
        as_of = data.registered_at
    elif isinstance(data, WorkerUpdated):
        as_of = data.updated_at
    else:
        raise TypeError(f"rating-brand-workers got {envelope.type}")  # a wiring bug
    await service.record_worker(session, uuid.UUID(data.worker_id), data.name, data.county, as_of)


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("rating-skill-masters", [CompetitionAwarded.subject], handle_competition_awarded),
    Subscription(
        "rating-brand-workers",
        [WorkerRegistered.subject, WorkerUpdated.subject],
        handle_brand_worker,
    ),
)
