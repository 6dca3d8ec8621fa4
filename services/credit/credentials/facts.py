"""Keep the facts the card is judged on, from registry events; re-judge the card each time.

Profile fields (county, tracks, checks, status, company) follow the registry's own timestamps:
an event older than what is stored changes nothing. Identity verification only ever turns on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.rating import WorkerRatingChanged
from contracts.registry import (
    EmploymentChanged,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
    WorkerVerified,
)
from services.credit.credentials import cards
from services.credit.credentials.models import CardWorkerFacts
from services.kit.subscriptions import Subscription
from services.kit.types import utcnow

VERIFIED_STATES = ("verified", "active")


async def _facts(session: AsyncSession, worker_id: uuid.UUID) -> CardWorkerFacts:
    facts = await session.get(CardWorkerFacts, worker_id)
    if facts is None:
        facts = CardWorkerFacts(
            worker_id=worker_id,
            identity_verified=False,
            blacklisted=False,
            tracks=[],
            updated_at=utcnow(),
        )
        session.add(facts)
    return facts


def _newer(stored: datetime | None, incoming: datetime) -> bool:
    return stored is None or incoming >= stored


async def apply(session: AsyncSession, data: EventData) -> uuid.UUID | None:
    """Record one registry event's facts; the worker it concerns, or None if ignored."""
    worker_id = uuid.UUID(data.worker_id) if hasattr(data, "worker_id") else None
    if worker_id is None:
        return None
    facts = await _facts(session, worker_id)
    if isinstance(data, WorkerRegistered | WorkerUpdated):
        at = data.registered_at if isinstance(data, WorkerRegistered) else data.updated_at
        if not _newer(facts.profile_as_of, at):
            return None
        facts.profile_as_of = at
        facts.county = data.county
        facts.tracks = list(data.tracks)
        facts.health_check_valid_until = data.health_check_valid_until
        facts.no_criminal_record_valid_until = data.no_criminal_record_valid_until
        if data.status is not None and _newer(facts.status_as_of, at):
            facts.registry_status, facts.status_as_of = data.status, at
            facts.identity_verified |= data.status in VERIFIED_STATES
        if isinstance(data, WorkerRegistered) and _newer(facts.employment_as_of, at):
            facts.company_id = uuid.UUID(data.company_id) if data.company_id else None
            facts.employment_as_of = at
    elif isinstance(data, WorkerVerified):
        facts.identity_verified = True
    elif isinstance(data, WorkerStatusChanged):
        if not _newer(facts.status_as_of, data.changed_at):
            return None
        facts.registry_status, facts.status_as_of = data.to_status, data.changed_at
        facts.identity_verified |= data.to_status in VERIFIED_STATES
    elif isinstance(data, EmploymentChanged):
        if not _newer(facts.employment_as_of, data.changed_at):
            return None
        facts.company_id = uuid.UUID(data.company_id) if data.company_id else None
        facts.employment_as_of = data.changed_at
    else:
        return None
    facts.updated_at = utcnow()
    await session.flush()
    return worker_id


async def handle_registry_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    worker_id = await apply(session, data)
    if worker_id is not None:
        await cards.reevaluate(session, worker_id)


async def set_blacklisted(session: AsyncSession, worker_id: uuid.UUID, blacklisted: bool) -> None:
    """Put a worker on or take them off the blacklist as the card sees it, and re-judge."""
    facts = await _facts(session, worker_id)
    facts.blacklisted = blacklisted
    facts.updated_at = utcnow()
    await session.flush()
    await cards.reevaluate(session, worker_id)


async def handle_rating(session: AsyncSession, envelope: CloudEvent[Any], data: EventData) -> None:
    """Keep the worker's latest published star level for the verification page: the newest
    year's, and within a year the newest change. Provisional levels (an open year) are not
    shown; stars do not change eligibility, so nothing is re-judged."""
    if not isinstance(data, WorkerRatingChanged):
        raise TypeError(f"credit-card-ratings got {envelope.type}")  # a wiring bug: dead-letter
    if data.provisional:
        return
    facts = await _facts(session, uuid.UUID(data.worker_id))
    newer = (
        facts.stars_year is None
        or data.year > facts.stars_year
        or (data.year == facts.stars_year and _newer(facts.stars_as_of, data.changed_at))
    )
    if newer:
        facts.stars, facts.stars_year, facts.stars_as_of = data.stars, data.year, data.changed_at
        facts.updated_at = utcnow()
        await session.flush()


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        "credit-card-facts",
        [
            WorkerRegistered.subject,
            WorkerUpdated.subject,
            WorkerVerified.subject,
            WorkerStatusChanged.subject,
            EmploymentChanged.subject,
        ],
        handle_registry_event,
    ),
    Subscription("credit-card-ratings", [WorkerRatingChanged.subject], handle_rating),
)
