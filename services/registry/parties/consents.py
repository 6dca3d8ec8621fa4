"""A worker's consents to share credit data: grant, withdraw, read; each change is an event.

The HTTP routes are in :mod:`.consent`."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import (
    ConsentChanged,
)
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.parties.models import (
    Consent,
    Partner,
    Worker,
)
from services.registry.parties.records import actor_id
from services.registry.parties.schemas.consent import ConsentCreate

log = logging.getLogger(__name__)


def consent_status(consent: Consent, now: datetime | None = None) -> str:
    if consent.withdrawn_at is not None:
        return "withdrawn"
    if consent.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


async def _check_recipient(session: AsyncSession, recipient: str) -> None:
    """A recipient that is a uuid must be a registered partner (anything else is a name)."""
    try:
        partner_id = uuid.UUID(recipient)
    except ValueError:
        return
    if await session.get(Partner, partner_id) is None:
        raise InvalidField("recipient", f"no partner with id {partner_id}")


async def grant_consent(
    session: AsyncSession, worker: Worker, data: ConsentCreate, actor: Principal | None
) -> Consent:
    """Record the worker's consent; 409 ``duplicate-consent`` while an equal one is active.

    Publishes ConsentChanged(granted=True).
    """
    if worker.status == "left":
        raise Conflict("A worker who left the programme cannot grant consent", slug="worker-left")
    recipient = str(uuid.UUID(data.recipient)) if _is_uuid(data.recipient) else data.recipient
    await _check_recipient(session, recipient)
    now = utcnow()
    active = await session.scalar(
        select(Consent).where(
            Consent.worker_id == worker.id,
            Consent.scope == data.scope,
            Consent.recipient == recipient,
            Consent.withdrawn_at.is_(None),
            Consent.expires_at > now,
        )
    )
    if active is not None:
        raise Conflict(
            "An active consent for this scope and recipient exists; withdraw it first",
            slug="duplicate-consent",
            consent_id=str(active.id),
        )
    consent = Consent(
        id=new_id(),
        worker_id=worker.id,
        scope=data.scope,
        recipient=recipient,
        granted_at=now,
        granted_by=actor_id(actor),
        expires_at=data.expires_at,
    )
    session.add(consent)
    await session.flush()
    await _publish_consent(session, consent, granted=True, at=now)
    log.info("consent granted", extra={"consent_id": str(consent.id), "worker_id": str(worker.id)})
    return consent


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def withdraw_consent(
    session: AsyncSession, consent: Consent, actor: Principal | None
) -> Consent:
    """Withdraw; 409 if already withdrawn or expired. Publishes ConsentChanged(granted=False)."""
    now = utcnow()
    status = consent_status(consent, now)
    if status != "active":
        raise Conflict(f"This consent is already {status}", slug="consent-not-active")
    consent.withdrawn_at = now
    consent.withdrawn_by = actor_id(actor)
    await session.flush()
    await _publish_consent(session, consent, granted=False, at=now)
    log.info(
        "consent withdrawn",
        extra={"consent_id": str(consent.id), "worker_id": str(consent.worker_id)},
    )
    return consent


async def _publish_consent(
    session: AsyncSession, consent: Consent, *, granted: bool, at: datetime
) -> None:
    await publish(
        session,
        ConsentChanged(
            consent_id=str(consent.id),
            worker_id=str(consent.worker_id),
            scope=consent.scope,
            recipient=consent.recipient,
            granted=granted,
            expires_at=consent.expires_at,
            changed_at=at,
        ),
    )


async def get_consent(
    session: AsyncSession, worker_id: uuid.UUID, consent_id: uuid.UUID, *, for_update: bool = False
) -> Consent:
    query = select(Consent).where(Consent.id == consent_id, Consent.worker_id == worker_id)
    if for_update:
        query = query.with_for_update()
    consent = await session.scalar(query)
    if consent is None:
        raise NotFound("consent", consent_id)
    return consent


async def list_consents(session: AsyncSession, worker_id: uuid.UUID) -> list[Consent]:
    query = (
        select(Consent)
        .where(Consent.worker_id == worker_id)
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    )
    return list((await session.scalars(query)).all())
