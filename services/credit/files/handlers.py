"""Event consumers of the credit files: parties from the registry, facts from training (our own
certificates), rating and matching become records. Each runs in the inbox's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.matching import EngagementFinished
from contracts.rating import WorkerRatingChanged
from contracts.registry import (
    CompanyRegistered,
    EmployerRegistered,
    InstitutionRegistered,
    WorkerRegistered,
    WorkerUpdated,
)
from services.credit.files import checks, service
from services.credit.files.models import CreditRecord
from services.kit.subscriptions import Subscription


async def handle_party(session: AsyncSession, envelope: CloudEvent[Any], data: EventData) -> None:
    """Open a credit file for each registered party; company honours become records, a
    worker's expired mandatory check a negative record."""
    if isinstance(data, WorkerRegistered | WorkerUpdated):
        worker_id = uuid.UUID(data.worker_id)
        await service.open_file(session, worker_id, "worker", name=data.name)
        at = data.registered_at if isinstance(data, WorkerRegistered) else data.updated_at
        dates = {
            "health_check": data.health_check_valid_until,
            "no_criminal_record": data.no_criminal_record_valid_until,
        }
        await checks.observe(session, worker_id, dates, at)
    elif isinstance(data, InstitutionRegistered):
        await service.open_file(
            session, uuid.UUID(data.institution_id), "institution", name=data.name
        )
    elif isinstance(data, EmployerRegistered):
        await service.open_file(session, uuid.UUID(data.employer_id), "employer", name=data.name)
    elif isinstance(data, CompanyRegistered):
        company_id = uuid.UUID(data.company_id)
        await service.open_file(session, company_id, "company", name=data.name)
        for honour in data.honours:
            await service.add_record(
                session,
                party_id=company_id,
                party_kind="company",
                kind="honour",
                severity=1,
                source="event",
                source_ref=f"{envelope.type}:{envelope.id}",
                reason=honour,
                recorded_by="system",
                effective_from=data.registered_at,
                dedupe_key=f"honour:{company_id}:{honour}"[:200],
            )
    else:
        raise TypeError(f"credit-files-parties got {envelope.type}")


async def handle_rating(session: AsyncSession, envelope: CloudEvent[Any], data: EventData) -> None:
    """Published stars ≥ 4 are a positive record, ≤ 2 a negative one; one record per worker
    and year, the newest rating of the year replacing the earlier (older events are ignored);
    provisional levels are not records."""
    if not isinstance(data, WorkerRatingChanged):
        raise TypeError(f"credit-files-ratings got {envelope.type}")
    if data.provisional:
        # An open year's level so far is not an assessment: only published levels (a year's
        # closing, an upheld appeal) become credit records (issue 11).
        return
    worker_id = uuid.UUID(data.worker_id)
    series = f"rating:{worker_id}:{data.year}"
    latest = await session.scalar(
        select(CreditRecord)
        .where(CreditRecord.source_ref == series)
        .order_by(CreditRecord.effective_from.desc())
        .limit(1)
    )
    # Withdrawn records still date the newest rating seen. (A 3-star rating leaves no record:
    # an older rating redelivered after it, with nothing of the year recorded, still counts.)
    if latest is not None and (
        latest.effective_from >= data.changed_at
        or (latest.withdrawn_at is not None and latest.withdrawn_at >= data.changed_at)
    ):
        return
    current = latest if latest is not None and latest.withdrawn_at is None else None
    kind = "stars_high" if data.stars >= 4 else "rating_low" if data.stars <= 2 else None
    if kind is None:
        if current is not None:
            # Withdrawn as of the rating that ended it, so later events compare by rating time.
            current.withdrawn_at = data.changed_at
            party = await service.open_file(session, worker_id, "worker")
            await service.recompute(session, party, await service.current_policy(session))
        return
    await service.add_record(
        session,
        party_id=worker_id,
        party_kind="worker",
        kind=kind,
        severity=1,
        source="event",
        source_ref=series,
        reason=f"{data.stars} stars in {data.year}",
        recorded_by="system",
        effective_from=data.changed_at,
        dedupe_key=f"{series}:{data.changed_at.isoformat()}",
        supersedes=current,
    )


async def handle_engagement(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """A finished engagement is a positive record for the worker and the employer."""
    if not isinstance(data, EngagementFinished):
        raise TypeError(f"credit-files-engagements got {envelope.type}")
    parties = [(uuid.UUID(data.worker_id), "worker")]
    if data.employer_id is not None:
        parties.append((uuid.UUID(data.employer_id), "employer"))
    for party_id, kind in parties:
        await service.add_record(
            session,
            party_id=party_id,
            party_kind=kind,
            kind="engagement_finished",
            severity=1,
            source="event",
            source_ref=f"{envelope.type}:{envelope.id}",
            reason=f"Engagement {data.engagement_id} finished {data.end_date.isoformat()}",
            recorded_by="system",
            effective_from=data.finished_at,
            dedupe_key=f"engagement:{data.engagement_id}:{party_id}",
        )


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        "credit-files-parties",
        [
            WorkerRegistered.subject,
            WorkerUpdated.subject,
            CompanyRegistered.subject,
            InstitutionRegistered.subject,
            EmployerRegistered.subject,
        ],
        handle_party,
    ),
    Subscription("credit-files-ratings", [WorkerRatingChanged.subject], handle_rating),
    Subscription("credit-files-engagements", [EngagementFinished.subject], handle_engagement),
)
