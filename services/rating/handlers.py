"""Rating's event consumers: which workers exist, which company employs each of them, and which
engagements finished (the only ground for an employer review)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.matching import EngagementFinished
from contracts.registry import EmploymentChanged, WorkerRegistered, WorkerUpdated
from services.kit.inbox import Subscription
from services.rating import service
from services.rating.brand.handlers import SUBSCRIPTIONS as BRAND_SUBSCRIPTIONS


def _company(company_id: str | None) -> uuid.UUID | None:
    return uuid.UUID(company_id) if company_id is not None else None


async def handle_worker_registered(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, WorkerRegistered):
        raise TypeError(f"rating-workers got {envelope.type}")  # a wiring bug: dead-letter it
    await service.record_worker(session, uuid.UUID(data.worker_id), data.registered_at)


async def handle_employment_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """The worker's current company, from every registry event that states it.

    One consumer for the three subjects keeps their order on the registry stream; the stored
    event time guards against redeliveries and replays on top of that.
    """
    if isinstance(data, EmploymentChanged):
        company, as_of = _company(data.company_id), data.changed_at
    elif isinstance(data, WorkerRegistered):
        company, as_of = _company(data.company_id), data.registered_at
    elif isinstance(data, WorkerUpdated):
        # company_id was added to the update later; an update that does not carry it says
        # nothing about employment (a null it *does* carry means independent).
        if "company_id" not in data.model_fields_set:
            return
        company, as_of = _company(data.company_id), data.updated_at
    else:
        raise TypeError(f"rating-employment got {envelope.type}")  # a wiring bug: dead-letter
    await service.record_employment(session, uuid.UUID(data.worker_id), company, as_of)


async def handle_engagement_finished(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, EngagementFinished):
        raise TypeError(f"rating-engagements got {envelope.type}")  # a wiring bug: dead-letter
    await service.record_engagement(session, data)


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("rating-workers", [WorkerRegistered.subject], handle_worker_registered),
    # A consumer of its own, so a deployment builds this read model by replaying the registry
    # stream from its start.
    Subscription(
        "rating-employment",
        [WorkerRegistered.subject, WorkerUpdated.subject, EmploymentChanged.subject],
        handle_employment_event,
    ),
    Subscription("rating-engagements", [EngagementFinished.subject], handle_engagement_finished),
    *BRAND_SUBSCRIPTIONS,
)
