"""Registering employer households."""

from __future__ import annotations

import logging

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import (
    EmployerRegistered,
)
from services.kit.errors import Conflict
from services.kit.idnumbers import mask_mobile
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.parties.models import (
    EMPLOYER_PHONE_CONTEXT,
    Employer,
)
from services.registry.parties.records import flush_unique
from services.registry.parties.schemas.employers import EmployerCreate

log = logging.getLogger(__name__)


async def register_employer(
    session: AsyncSession, cipher: PiiCipher, data: EmployerCreate, actor: Principal | None
) -> Employer:
    """409 ``duplicate-employer`` for a known mobile number; publishes EmployerRegistered."""
    index = cipher.blind_index(data.phone, context=EMPLOYER_PHONE_CONTEXT)
    detail = "An employer with this mobile number is already registered"
    if await session.scalar(select(exists().where(Employer.phone_index == index))):
        raise Conflict(detail, slug="duplicate-employer")
    now = utcnow()
    employer = Employer(
        id=new_id(),
        name=data.name,
        phone_encrypted=cipher.encrypt(data.phone, context=EMPLOYER_PHONE_CONTEXT),
        phone_index=index,
        phone_masked=mask_mobile(data.phone),
        city=data.city,
        district=data.district,
        address=data.address,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(employer)
    await flush_unique(session, detail, "duplicate-employer")
    await publish(
        session,
        EmployerRegistered(
            employer_id=str(employer.id),
            name=employer.name,
            city=employer.city,  # type: ignore[arg-type]
            district=employer.district,
            registered_at=now,
        ),
    )
    log.info("employer registered", extra={"employer_id": str(employer.id)})
    return employer
