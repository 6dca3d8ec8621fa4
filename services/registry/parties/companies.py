"""Registering and updating household-service companies and training institutions."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import (
    CompanyRegistered,
    InstitutionRegistered,
)
from services.kit.idnumbers import mask_mobile, parse_credit_code
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.parties.models import (
    COMPANY_CONTACT_PHONE_CONTEXT,
    INSTITUTION_CONTACT_PHONE_CONTEXT,
    Company,
    Institution,
)
from services.registry.parties.records import credit_code_free, flush_unique
from services.registry.parties.schemas.organisations import (
    CompanyCreate,
    InstitutionCreate,
    OrganisationPatch,
)

log = logging.getLogger(__name__)


async def find_company_by_credit_code(session: AsyncSession, code: str) -> Company | None:
    """Exact lookup; ``code`` is validated (InvalidCreditCode, a ValueError, if not)."""
    return await session.scalar(
        select(Company).where(Company.credit_code == parse_credit_code(code))
    )


async def find_institution_by_credit_code(session: AsyncSession, code: str) -> Institution | None:
    return await session.scalar(
        select(Institution).where(Institution.credit_code == parse_credit_code(code))
    )


def _organisation_fields(
    cipher: PiiCipher, data: CompanyCreate | InstitutionCreate, context: str
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id(),
        "credit_code": data.credit_code,
        "name": data.name,
        "legal_representative": data.legal_representative,
        "county": data.county,
        "address": data.address,
        "contact_name": data.contact.name,
        "contact_phone_encrypted": cipher.encrypt(data.contact.phone, context=context),
        "contact_phone_index": cipher.blind_index(data.contact.phone, context=context),
        "contact_phone_masked": mask_mobile(data.contact.phone),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


async def register_company(
    session: AsyncSession, cipher: PiiCipher, data: CompanyCreate, actor: Principal | None
) -> Company:
    """409 ``duplicate-company`` for a known credit code; publishes CompanyRegistered."""
    detail = await credit_code_free(session, Company, data.credit_code, "company")
    company = Company(
        **_organisation_fields(cipher, data, COMPANY_CONTACT_PHONE_CONTEXT),
        kind=data.kind,
        honours=list(data.honours),
    )
    session.add(company)
    await flush_unique(session, detail, "duplicate-company")
    await publish(
        session,
        CompanyRegistered(
            company_id=str(company.id),
            name=company.name,
            credit_code=company.credit_code,
            county=company.county,  # type: ignore[arg-type]
            kind=company.kind,  # type: ignore[arg-type]
            honours=company.honours,
            registered_at=company.created_at,
        ),
    )
    log.info("company registered", extra={"company_id": str(company.id)})
    return company


async def register_institution(
    session: AsyncSession, cipher: PiiCipher, data: InstitutionCreate, actor: Principal | None
) -> Institution:
    """409 ``duplicate-institution`` for a known credit code; publishes InstitutionRegistered."""
    detail = await credit_code_free(session, Institution, data.credit_code, "institution")
    institution = Institution(
        **_organisation_fields(cipher, data, INSTITUTION_CONTACT_PHONE_CONTEXT),
        level=data.level,
        tracks=list(data.tracks),
    )
    session.add(institution)
    await flush_unique(session, detail, "duplicate-institution")
    await publish(
        session,
        InstitutionRegistered(
            institution_id=str(institution.id),
            name=institution.name,
            credit_code=institution.credit_code,
            county=institution.county,  # type: ignore[arg-type]
            level=institution.level,  # type: ignore[arg-type]
            tracks=institution.tracks,  # type: ignore[arg-type]
            registered_at=institution.created_at,
        ),
    )
    log.info("institution registered", extra={"institution_id": str(institution.id)})
    return institution


async def update_organisation(
    session: AsyncSession,
    cipher: PiiCipher,
    organisation: Company | Institution,
    patch: OrganisationPatch,
    context: str,
) -> bool:
    """Change an organisation's representative, address or contact (no event: consumers
    carry none of these). Returns False when nothing changed."""
    changed = False
    if patch.legal_representative is not None:
        changed |= patch.legal_representative != organisation.legal_representative
        organisation.legal_representative = patch.legal_representative
    if patch.address is not None:
        changed |= patch.address != organisation.address
        organisation.address = patch.address
    if patch.contact is not None:
        index = cipher.blind_index(patch.contact.phone, context=context)
        if patch.contact.name != organisation.contact_name:
            organisation.contact_name = patch.contact.name
            changed = True
        if index != organisation.contact_phone_index:
            organisation.contact_phone_encrypted = cipher.encrypt(
                patch.contact.phone, context=context
            )
            organisation.contact_phone_index = index
            organisation.contact_phone_masked = mask_mobile(patch.contact.phone)
            changed = True
    if changed:
        organisation.version += 1
        organisation.updated_at = utcnow()
        await session.flush()
    return changed
