"""Training's event handlers; each runs in the inbox's transaction (effects + inbox row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CertificateIssued
from contracts.envelope import CloudEvent, EventData
from contracts.rating import WorkerRatingChanged
from contracts.registry import (
    AgencyStatusChanged,
    EmploymentChanged,
    InstitutionRegistered,
    PartnerStatusChanged,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
)
from services.kit.read_models import ReadModel
from services.kit.subscriptions import Subscription
from services.kit.suspensions import TABLE as PARTY_STANDING_TABLE
from services.kit.suspensions import handle_standing_changed
from services.training.apprenticeships.service import upsert_rating
from services.training.workers import (
    record_certificate,
    record_certificates,
    set_status,
    upsert_employment,
    upsert_institution,
    upsert_worker,
)


async def handle_worker_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``known_workers`` current (name, county, target groups) from registrations and
    profile updates.

    Ordered by the registry's own timestamps (``registered_at`` / ``updated_at``), not by
    arrival, so redelivery and reordering converge on the newest profile.
    """
    if isinstance(data, WorkerRegistered):
        as_of = data.registered_at
    elif isinstance(data, WorkerUpdated):
        as_of = data.updated_at
    else:  # a subject we did not subscribe to: nothing to do, but ack it
        return
    await upsert_worker(
        session,
        uuid.UUID(data.worker_id),
        name=data.name,
        county=data.county,
        as_of=as_of,
        target_groups=list(data.target_groups),
    )


async def handle_employment_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``known_employments`` current: which company employs each worker now.

    Only EmploymentChanged is read: the registry announces every join and leave with it
    (registration itself says ``company_id: null`` and is followed by one when employed), and
    WorkerUpdated's optional ``company_id`` cannot tell "independent" from "not sent".
    """
    if not isinstance(data, EmploymentChanged):
        return
    company_id = uuid.UUID(data.company_id) if data.company_id is not None else None
    await upsert_employment(session, uuid.UUID(data.worker_id), company_id, data.changed_at)


async def handle_rating_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``known_ratings`` current: each worker's newest *published* stars, which qualify
    mentors (a provisional level of an open assessment year is not a title to mentor on)."""
    if not isinstance(data, WorkerRatingChanged) or data.provisional:
        return
    await upsert_rating(session, uuid.UUID(data.worker_id), data.year, data.stars, data.changed_at)


async def handle_status_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep each worker's registry status (enrolment eligibility): the status at registration,
    then every WorkerStatusChanged, newest registry time winning."""
    if isinstance(data, WorkerRegistered):
        # The profile too (same registry time, so idempotent with the workers consumer): the
        # status needs the row, whichever consumer gets there first.
        await handle_worker_event(session, envelope, data)
        await set_status(session, uuid.UUID(data.worker_id), data.status, data.registered_at)
    elif isinstance(data, WorkerStatusChanged):
        await set_status(session, uuid.UUID(data.worker_id), data.to_status, data.changed_at)


async def handle_institution_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``known_institutions`` (a course's provider is verified against it)."""
    if not isinstance(data, InstitutionRegistered):
        return
    await upsert_institution(
        session,
        uuid.UUID(data.institution_id),
        name=data.name,
        level=data.level,
        tracks=list(data.tracks),
        as_of=data.registered_at,
    )


async def handle_certificate_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``known_certificates``: every certificate credit issued to a worker, for the
    skills record (a redelivered or re-published certificate is kept once, by its id)."""
    if not isinstance(data, CertificateIssued):
        return
    await record_certificate(session, data)


async def handle_certificate_events(
    session: AsyncSession, events: Sequence[tuple[CloudEvent[Any], EventData]]
) -> None:
    """:func:`handle_certificate_event` for an inbox batch, in one statement."""
    await record_certificates(
        session, [data for _, data in events if isinstance(data, CertificateIssued)]
    )


#: Suspended partners and agencies: their tokens are refused at once (issue 16).
PARTY_STANDING = Subscription(
    "training-party-standing",
    [PartnerStatusChanged.subject, AgencyStatusChanged.subject],
    handle_standing_changed,
)


#: Training's durable consumers (kit.inbox), one per read model it keeps.
SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        name="training-workers",
        subjects=[WorkerRegistered.subject, WorkerUpdated.subject],
        handler=handle_worker_event,
    ),
    # Its own durable consumer: a new one replays the stream from the start, so an
    # upgraded service learns every existing employment.
    Subscription(
        name="training-employments",
        subjects=[EmploymentChanged.subject],
        handler=handle_employment_event,
    ),
    # Registry status decides who may enrol (suspended workers and leavers may not).
    Subscription(
        name="training-worker-status",
        subjects=[WorkerRegistered.subject, WorkerStatusChanged.subject],
        handler=handle_status_event,
    ),
    # A course's provider is verified against the institutions the registry announced.
    Subscription(
        name="training-institutions",
        subjects=[InstitutionRegistered.subject],
        handler=handle_institution_event,
    ),
    # Stars qualify apprenticeship mentors.
    Subscription(
        name="training-ratings",
        subjects=[WorkerRatingChanged.subject],
        handler=handle_rating_event,
    ),
    # Certificates credit issued: the lifelong skills record lists them. Nobody waits
    # on that record per event, so it gathers them (kit.inbox Subscription.linger).
    Subscription(
        name="training-certificates",
        subjects=[CertificateIssued.subject],
        handler=handle_certificate_event,
        batch_handler=handle_certificate_events,
        linger=0.05,
    ),
    PARTY_STANDING,
)

#: What training knows from other services, rebuilt with ``python -m services.training rebuild
#: <name>`` (services.kit.read_models). Both worker consumers write ``known_workers``.
READ_MODELS: tuple[ReadModel, ...] = (
    ReadModel(
        "workers",
        ("training-workers", "training-worker-status"),
        ("known_workers",),
        "workers' profiles and registry status (who may enrol)",
    ),
    ReadModel("employments", ("training-employments",), ("known_employments",)),
    ReadModel("institutions", ("training-institutions",), ("known_institutions",)),
    ReadModel("ratings", ("training-ratings",), ("known_ratings",), "published stars (mentors)"),
    ReadModel(
        "certificates",
        ("training-certificates",),
        ("known_certificates",),
        "certificates credit issued (skills record)",
    ),
    ReadModel(
        "party-standing",
        ("training-party-standing",),
        (PARTY_STANDING_TABLE,),
        "suspended partners and agencies (their tokens are refused)",
    ),
)
