"""Matching's event consumers: thin adapters from contract events to service operations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import (
    CardStatusChanged,
    CertificateIssued,
    CreditLevelChanged,
    CreditListEntryAdded,
    CreditListEntryRemoved,
)
from contracts.envelope import CloudEvent, EventData
from contracts.rating import WorkerRatingChanged
from contracts.registry import (
    AgencyKeyChanged,
    AgencyStatusChanged,
    AgreementChanged,
    ConsentChanged,
    PartnerStatusChanged,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
)
from services.kit.agency_keys import TABLE as AGENCY_KEYS_TABLE
from services.kit.agency_keys import handle_agency_key_changed
from services.kit.agreements import TABLE as AGREEMENTS_TABLE
from services.kit.agreements import handle_agreement_changed
from services.kit.read_models import ReadModel
from services.kit.subscriptions import Subscription
from services.kit.suspensions import TABLE as PARTY_STANDING_TABLE
from services.kit.suspensions import handle_standing_changed
from services.matching import batch, driver_batch, service


async def handle_worker_registered(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, WorkerRegistered):
        raise TypeError(f"expected a worker registration, got {envelope.type}")
    await service.apply_registration(
        session,
        uuid.UUID(data.worker_id),
        name=data.name,
        county=data.county,
        tracks=data.tracks,
        status=data.status,
        registered_at=data.registered_at,
        languages=data.languages,
    )


async def handle_worker_updated(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, WorkerUpdated):
        raise TypeError(f"expected a worker update, got {envelope.type}")
    await service.apply_profile_update(
        session,
        uuid.UUID(data.worker_id),
        name=data.name,
        county=data.county,
        tracks=data.tracks,
        updated_at=data.updated_at,
        languages=data.languages,
        status=data.status,
    )


async def handle_worker_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """One durable consumer for both worker subjects keeps their relative order."""
    if isinstance(data, WorkerRegistered):
        await handle_worker_registered(session, envelope, data)
    elif isinstance(data, WorkerUpdated):
        await handle_worker_updated(session, envelope, data)
    else:
        raise TypeError(f"matching-workers got {envelope.type}")  # a wiring bug: dead-letter


async def handle_certificate_issued(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, CertificateIssued):
        raise TypeError(f"matching-certificates got {envelope.type}")
    await service.add_certificate(
        session,
        uuid.UUID(data.worker_id),
        certificate_id=uuid.UUID(data.certificate_id),
        number=data.certificate_number,
        kind=data.kind,
        track=data.track,
        issued_at=data.issued_at,
        valid_until=data.valid_until,
    )


async def handle_rating_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, WorkerRatingChanged):
        raise TypeError(f"matching-ratings got {envelope.type}")
    if data.provisional:
        # A level from an open year's evidence so far is not the programme's assessment:
        # only published levels (a year's closing, an appeal) rank and filter candidates
        # (issue 11). The worker keeps their last published stars meanwhile.
        return
    await service.apply_rating(
        session,
        uuid.UUID(data.worker_id),
        year=data.year,
        stars=data.stars,
        changed_at=data.changed_at,
    )


async def handle_status_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Suspended and left workers drop out of matching with this one event."""
    if not isinstance(data, WorkerStatusChanged):
        raise TypeError(f"matching-worker-status got {envelope.type}")
    await service.apply_status(
        session, uuid.UUID(data.worker_id), status=data.to_status, changed_at=data.changed_at
    )


async def handle_consent_changed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    if not isinstance(data, ConsentChanged):
        raise TypeError(f"matching-consents got {envelope.type}")
    await service.record_consent(
        session,
        uuid.UUID(data.consent_id),
        worker_id=uuid.UUID(data.worker_id),
        scope=data.scope,
        recipient=data.recipient,
        granted=data.granted,
        expires_at=data.expires_at,
        changed_at=data.changed_at,
    )


async def handle_certificates_issued(
    session: AsyncSession, events: Sequence[tuple[CloudEvent[Any], EventData]]
) -> None:
    """:func:`handle_certificate_issued` for a whole batch, set-based."""
    await batch.add_certificates(session, batch.issued_certificates(events))


def standing_change(envelope: CloudEvent[Any], data: EventData) -> batch.StandingChange | None:
    """A worker's credit level, card colour or red/black listing; None for other parties."""
    if isinstance(data, CreditLevelChanged):
        if data.party_kind == "worker":
            return batch.StandingChange(
                uuid.UUID(data.party_id), changed_at=data.changed_at, credit_level=data.level
            )
    elif isinstance(data, CreditListEntryAdded):
        if data.party_kind == "worker":
            return batch.StandingChange(
                uuid.UUID(data.party_id), changed_at=data.starts_at, list_status=data.list_kind
            )
    elif isinstance(data, CreditListEntryRemoved):
        if data.party_kind == "worker":
            return batch.StandingChange(
                uuid.UUID(data.party_id), changed_at=data.ended_at, list_ended=data.list_kind
            )
    elif isinstance(data, CardStatusChanged):
        return batch.StandingChange(
            uuid.UUID(data.worker_id), changed_at=data.changed_at, card_status=data.colour
        )
    else:
        raise TypeError(f"matching-credit-standing got {envelope.type}")
    return None


async def handle_credit_standing(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """A worker's credit level, card colour or red/black listing; other parties' are not ours."""
    change = standing_change(envelope, data)
    if change is not None:
        await service.apply_credit_standing(
            session,
            change.worker_id,
            changed_at=change.changed_at,
            credit_level=change.credit_level,
            card_status=change.card_status,
            list_status=change.list_status,
            list_ended=change.list_ended,
        )


async def handle_credit_standings(
    session: AsyncSession, events: Sequence[tuple[CloudEvent[Any], EventData]]
) -> None:
    """:func:`handle_credit_standing` for a whole batch, in order, set-based."""
    changes = [standing_change(envelope, data) for envelope, data in events]
    await batch.apply_credit_standings(session, [c for c in changes if c is not None])


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        "matching-workers",
        [WorkerRegistered.subject, WorkerUpdated.subject],
        handle_worker_event,
    ),
    Subscription(
        "matching-certificates",
        [CertificateIssued.subject],
        handle_certificate_issued,
        batch_handler=handle_certificates_issued,
        # The hot path (the chain's last hop), on the plain driver.
        transaction_handler=driver_batch.add_certificates_on_driver,
    ),
    Subscription(
        "matching-credit-standing",
        [
            CreditLevelChanged.subject,
            CreditListEntryAdded.subject,
            CreditListEntryRemoved.subject,
            CardStatusChanged.subject,
        ],
        handle_credit_standing,
        batch_handler=handle_credit_standings,
        # Every certificate moves a credit level too; ranks may follow 50 ms later, so a
        # steady stream is applied in batches (the certificate itself does not linger).
        linger=0.05,
    ),
    Subscription("matching-ratings", [WorkerRatingChanged.subject], handle_rating_changed),
    Subscription("matching-worker-status", [WorkerStatusChanged.subject], handle_status_changed),
    Subscription("matching-consents", [ConsentChanged.subject], handle_consent_changed),
    # Agencies' data-sharing agreements: what each may read of matching's feeds (issue 14).
    Subscription("matching-agreements", [AgreementChanged.subject], handle_agreement_changed),
    # Suspended partners and agencies: their tokens are refused at once (issue 16).
    Subscription(
        "matching-party-standing",
        [PartnerStatusChanged.subject, AgencyStatusChanged.subject],
        handle_standing_changed,
    ),
    # Agencies' signing keys: which signatures a platform's job import is accepted with.
    Subscription("matching-agency-keys", [AgencyKeyChanged.subject], handle_agency_key_changed),
)

#: Rebuilt with ``python -m services.matching rebuild <name>`` (services.kit.read_models).
READ_MODELS: tuple[ReadModel, ...] = (
    ReadModel(
        "agreements",
        ("matching-agreements",),
        (AGREEMENTS_TABLE,),
        "agencies' sharing agreements",
    ),
    ReadModel(
        "party-standing",
        ("matching-party-standing",),
        (PARTY_STANDING_TABLE,),
        "suspended partners and agencies (their tokens are refused)",
    ),
    ReadModel(
        "agency-keys",
        ("matching-agency-keys",),
        (AGENCY_KEYS_TABLE,),
        "agencies' signing keys",
    ),
)
