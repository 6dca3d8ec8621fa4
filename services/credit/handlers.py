"""Credit's event handlers; each runs in the inbox's transaction (effects + inbox row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import (
    AgencyStatusChanged,
    AgreementChanged,
    ConsentChanged,
    EmploymentChanged,
    PartnerStatusChanged,
    WorkerRegistered,
    WorkerUpdated,
)
from contracts.training import CompetitionAwarded, EnrollmentCompleted
from services.credit import batch, driver_batch
from services.credit.access import record_consent
from services.credit.credentials import cards
from services.credit.files import service as credit_files
from services.credit.files.handlers import SUBSCRIPTIONS as FILE_SUBSCRIPTIONS
from services.credit.service import certificate_issued, record_award, record_completion
from services.credit.workers import record_employment, upsert_worker
from services.kit.agreements import TABLE as AGREEMENTS_TABLE
from services.kit.agreements import handle_agreement_changed
from services.kit.read_models import ReadModel
from services.kit.subscriptions import Subscription
from services.kit.suspensions import TABLE as PARTY_STANDING_TABLE
from services.kit.suspensions import handle_standing_changed


async def handle_enrollment_completed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Issue a training certificate for a passed completion, exactly once per enrolment."""
    if isinstance(data, EnrollmentCompleted):
        certificate = await record_completion(session, data)
        if certificate is not None:
            # In the issuing transaction (credit never consumes its own stream): a positive
            # record in the worker's credit file, and perhaps the card's last condition.
            await credit_files.record_certificate(session, certificate_issued(certificate))
            await cards.reevaluate(session, uuid.UUID(data.worker_id))


async def handle_enrollments_completed(
    session: AsyncSession, events: Sequence[tuple[CloudEvent[Any], EventData]]
) -> None:
    """:func:`handle_enrollment_completed` for a batch: set-based when every enrolment and
    worker appears once (see :mod:`services.credit.batch`), else one event after another."""
    completions = [data for _, data in events if isinstance(data, EnrollmentCompleted)]
    if len(completions) == len(events) and await batch.issue_for_completions(session, completions):
        return
    for envelope, data in events:
        await handle_enrollment_completed(session, envelope, data)


async def handle_competition_awarded(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Issue the 肇庆市技术能手 certificate to a competition's winner, exactly once per award,
    with its positive record (kind ``skill_title``) in the worker's credit file."""
    if not isinstance(data, CompetitionAwarded):
        raise TypeError(f"credit-skill-titles got {envelope.type}")  # a wiring bug: dead-letter
    certificate = await record_award(session, data)
    if certificate is not None:
        await credit_files.record_certificate(session, certificate_issued(certificate))


async def handle_worker_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``credit_workers`` current, ordered by the registry's own timestamps."""
    if isinstance(data, WorkerRegistered):
        await upsert_worker(
            session,
            uuid.UUID(data.worker_id),
            name=data.name,
            id_card_masked=data.id_card_masked,
            as_of=data.registered_at,
        )
    elif isinstance(data, WorkerUpdated):
        await upsert_worker(
            session,
            uuid.UUID(data.worker_id),
            name=data.name,
            id_card_masked=None,
            as_of=data.updated_at,
        )


async def handle_employment_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Track each worker's current company: it may read its employees' credit data."""
    if not isinstance(data, EmploymentChanged):
        raise TypeError(f"credit-employment got {envelope.type}")  # a wiring bug: dead-letter
    await record_employment(
        session,
        uuid.UUID(data.worker_id),
        company_id=uuid.UUID(data.company_id) if data.company_id else None,
        changed_at=data.changed_at,
    )


async def handle_consent_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Track consents: employers and partners read credit data only within one."""
    if not isinstance(data, ConsentChanged):
        raise TypeError(f"credit-consents got {envelope.type}")
    await record_consent(
        session,
        uuid.UUID(data.consent_id),
        worker_id=uuid.UUID(data.worker_id),
        scope=data.scope,
        recipient=data.recipient,
        granted=data.granted,
        expires_at=data.expires_at,
        changed_at=data.changed_at,
    )


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        "credit-certificates",
        [EnrollmentCompleted.subject],
        handle_enrollment_completed,
        batch_handler=handle_enrollments_completed,
        # The hot path, on the plain driver; what it leaves to the session comes back above.
        transaction_handler=driver_batch.issue_on_driver,
    ),
    Subscription("credit-skill-titles", [CompetitionAwarded.subject], handle_competition_awarded),
    Subscription(
        "credit-workers", [WorkerRegistered.subject, WorkerUpdated.subject], handle_worker_event
    ),
    Subscription("credit-employment", [EmploymentChanged.subject], handle_employment_changed),
    Subscription("credit-consents", [ConsentChanged.subject], handle_consent_changed),
    # Agencies' data-sharing agreements: what each may read of credit's feeds (issue 14).
    Subscription("credit-agreements", [AgreementChanged.subject], handle_agreement_changed),
    # Suspended partners and agencies: their tokens are refused at once (issue 16).
    Subscription(
        "credit-party-standing",
        [PartnerStatusChanged.subject, AgencyStatusChanged.subject],
        handle_standing_changed,
    ),
    *FILE_SUBSCRIPTIONS,
)

#: Rebuilt with ``python -m services.credit rebuild <name>`` (services.kit.read_models). The
#: certificates, credit files and cards are credit's own records, not read models.
READ_MODELS: tuple[ReadModel, ...] = (
    ReadModel("workers", ("credit-workers",), ("credit_workers",), "names on certificates"),
    ReadModel("employment", ("credit-employment",), ("credit_employment",), "who employs whom"),
    ReadModel("consents", ("credit-consents",), ("credit_consents",), "partners' read consents"),
    ReadModel(
        "agreements", ("credit-agreements",), (AGREEMENTS_TABLE,), "agencies' sharing agreements"
    ),
    ReadModel(
        "party-standing",
        ("credit-party-standing",),
        (PARTY_STANDING_TABLE,),
        "suspended partners and agencies (their tokens are refused)",
    ),
)
