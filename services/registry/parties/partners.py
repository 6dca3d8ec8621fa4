"""Registering partner platforms and suspending them (which revokes their OAuth clients)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import (
    PartnerRegistered,
    PartnerStatusChanged,
)
from services.kit.errors import Conflict
from services.kit.idnumbers import mask_mobile
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.suspensions import record as record_standing
from services.kit.types import utcnow
from services.registry.identity.clients import revoke_partner_clients
from services.registry.parties.models import (
    PARTNER_CONTACT_PHONE_CONTEXT,
    Partner,
)
from services.registry.parties.records import credit_code_free, flush_unique
from services.registry.parties.schemas.partners import PartnerCreate

log = logging.getLogger(__name__)


async def register_partner(
    session: AsyncSession, cipher: PiiCipher, data: PartnerCreate, actor: Principal | None
) -> Partner:
    """409 ``duplicate-partner`` for a known credit code; publishes PartnerRegistered."""
    detail = "A partner with this unified social credit code is already registered"
    if data.credit_code is not None:
        detail = await credit_code_free(session, Partner, data.credit_code, "partner")
    now = utcnow()
    partner = Partner(
        id=new_id(),
        name=data.name,
        credit_code=data.credit_code,
        city=data.city,
        kind=data.kind,
        contact_name=data.contact.name,
        contact_phone_encrypted=cipher.encrypt(
            data.contact.phone, context=PARTNER_CONTACT_PHONE_CONTEXT
        ),
        contact_phone_index=cipher.blind_index(
            data.contact.phone, context=PARTNER_CONTACT_PHONE_CONTEXT
        ),
        contact_phone_masked=mask_mobile(data.contact.phone),
        webhook_url=data.webhook_url,
        status="active",
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(partner)
    await flush_unique(session, detail, "duplicate-partner")
    await publish(
        session,
        PartnerRegistered(
            partner_id=str(partner.id),
            name=partner.name,
            city=partner.city,  # type: ignore[arg-type]
            kind=partner.kind,  # type: ignore[arg-type]
            registered_at=now,
        ),
    )
    log.info("partner registered", extra={"partner_id": str(partner.id)})
    return partner


async def set_partner_status(session: AsyncSession, partner: Partner, status: str) -> Partner:
    """Suspending revokes every OAuth client of the partner in this same transaction, so no
    token is issued once the suspension commits; reactivating does not bring them back (an
    admin makes new clients). The change is published (PartnerStatusChanged) and kept in the
    registry's own ``kit_party_standing``: every service, this one included, refuses the
    partner's unexpired tokens while it is suspended (services.kit.suspensions)."""
    if partner.status == status:
        raise Conflict(f"The partner is already {status}", slug="invalid-transition")
    now = utcnow()
    partner.status = status
    partner.version += 1
    partner.updated_at = now
    if status != "active":
        await revoke_partner_clients(session, partner.id)
    await session.flush()
    await record_standing(session, "partner", str(partner.id), status, now)
    await publish(
        session,
        PartnerStatusChanged(partner_id=str(partner.id), status=status, changed_at=now),  # type: ignore[arg-type]
    )
    log.info("partner status changed", extra={"partner_id": str(partner.id), "status": status})
    return partner
