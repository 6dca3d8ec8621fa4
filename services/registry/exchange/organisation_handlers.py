"""The import's handlers of companies and institutions, both keyed by their credit code.

They differ only in their table, the fields they compare and the registration they call
(:mod:`services.registry.parties.companies`); each new one is registered on its own.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.principal import Principal
from services.registry.exchange.kind_handler import Candidate, KindHandler, is_stated, same_items
from services.registry.parties import companies
from services.registry.parties.models import (
    COMPANY_CONTACT_PHONE_CONTEXT,
    INSTITUTION_CONTACT_PHONE_CONTEXT,
    Company,
    Institution,
)
from services.registry.parties.schemas.organisations import CompanyCreate, InstitutionCreate


class _OrganisationHandler(KindHandler):
    key_field = "credit_code"
    key_words = "unified social credit code"
    table: ClassVar[type[Company] | type[Institution]]
    phone_context: ClassVar[str]
    extra_fields: ClassVar[tuple[str, ...]]
    list_fields: ClassVar[tuple[str, ...]]

    async def existing(self, session: AsyncSession, lookups: list[str]) -> dict[str, Any]:
        rows = await session.scalars(select(self.table).where(self.table.credit_code.in_(lookups)))
        return {org.credit_code: org for org in rows}

    def differences(self, candidate: Candidate, record: Any) -> list[str]:
        data = candidate.data
        diffs = [
            name
            for name in ("name", "legal_representative", "county", "address", *self.extra_fields)
            if getattr(data, name) != getattr(record, name)
        ]
        if data.contact.name != record.contact_name:
            diffs.append("contact_name" if self.fmt == "csv" else "contact.name")
        index = self.cipher.blind_index(data.contact.phone, context=self.phone_context)
        if index != record.contact_phone_index:
            diffs.append("contact_phone" if self.fmt == "csv" else "contact.phone")
        for name in self.list_fields:
            if is_stated(data, name) and not same_items(getattr(data, name), getattr(record, name)):
                diffs.append(name)
        return diffs


class CompanyHandler(_OrganisationHandler):
    kind = "companies"
    model = CompanyCreate
    table = Company
    phone_context = COMPANY_CONTACT_PHONE_CONTEXT
    extra_fields = ("kind",)
    list_fields = ("honours",)

    async def register(
        self, session: AsyncSession, candidate: Candidate, actor: Principal | None
    ) -> None:
        await companies.register_company(session, self.cipher, candidate.data, actor)


class InstitutionHandler(_OrganisationHandler):
    kind = "institutions"
    model = InstitutionCreate
    table = Institution
    phone_context = INSTITUTION_CONTACT_PHONE_CONTEXT
    extra_fields = ("level",)
    list_fields = ("tracks",)

    async def register(
        self, session: AsyncSession, candidate: Candidate, actor: Principal | None
    ) -> None:
        await companies.register_institution(session, self.cipher, candidate.data, actor)
