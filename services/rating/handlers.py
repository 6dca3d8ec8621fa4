"""Rating's event consumers: which workers exist, which company employs each of them, and which
engagements finished (the only ground for an employer review)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.matching import EngagementFinished
from contracts.registry import (
    AgencyStatusChanged,
    EmploymentChanged,
    PartnerStatusChanged,
    WorkerRegistered,
    WorkerUpdated,
)
from services.kit.read_models import ReadModel
from services.kit.subscriptions import Subscription
from services.kit.suspensions import TABLE as PARTY_STANDING_TABLE
from services.kit.suspensions import handle_standing_changed
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


async def handle_county_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """The worker's county, from the registration and every update (both carry it)."""
    if isinstance(data, WorkerRegistered):
        as_of = data.registered_at
    elif isinstance(data, WorkerUpdated):
        as_of = data.updated_at
    else:
        raise TypeError(f"rating-counties got {envelope.type}")  # a wiring bug: dead-letter
    await service.record_county(session, uuid.UUID(data.worker_id), data.county, as_of)


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
    # The county of each worker, for the officers' statistics by county.
    Subscription(
        "rating-counties",
        [WorkerRegistered.subject, WorkerUpdated.subject],
        handle_county_event,
    ),
    Subscription("rating-engagements", [EngagementFinished.subject], handle_engagement_finished),
    # Suspended partners and agencies: their tokens are refused at once (issue 16).
    Subscription(
        "rating-party-standing",
        [PartnerStatusChanged.subject, AgencyStatusChanged.subject],
        handle_standing_changed,
    ),
    *BRAND_SUBSCRIPTIONS,
)

#: Rebuilt with ``python -m services.rating rebuild <name>`` (services.kit.read_models).
READ_MODELS: tuple[ReadModel, ...] = (
    ReadModel("workers", ("rating-workers",), ("known_workers",), "who may be rated"),
    ReadModel(
        "employment", ("rating-employment",), ("worker_employment",), "each worker's company"
    ),
    ReadModel("counties", ("rating-counties",), ("worker_counties",), "each worker's county"),
    ReadModel(
        "brand-workers",
        ("rating-brand-workers",),
        ("brand_workers",),
        "masked names and counties the public roll shows",
    ),
    ReadModel(
        "skill-masters", ("rating-skill-masters",), ("brand_skill_masters",), "技术能手 roll"
    ),
    ReadModel(
        "party-standing",
        ("rating-party-standing",),
        (PARTY_STANDING_TABLE,),
        "suspended partners and agencies (their tokens are refused)",
    ),
)
