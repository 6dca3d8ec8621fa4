"""Company and institution schemas (both registered by their unified social credit code), what
their own staff may change, and their responses; ``ContactIn``/``ContactOut`` serve partners too.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.common import County, EmploymentKind, Track
from contracts.registry import Honour, InstitutionLevel
from services.registry.parties.schemas.fields import (
    CREDIT_CODE,
    MOBILE,
    UNIQUE_ITEMS,
    Address,
    OrgName,
    PersonName,
    never_null,
    refuses_null,
    unique_entries,
    valid_credit_code,
    valid_mobile,
)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    phone: str = Field(description="Mainland mobile number (+86)", json_schema_extra=MOBILE)

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return valid_mobile(value)


class ContactOut(BaseModel):
    name: str
    phone: str = Field(description="Masked unless the caller may see it in full")


class _OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: str = Field(
        description="Unified social credit code (GB 32100)",
        examples=["91441200MA4UJ9KJ6L"],
        json_schema_extra=CREDIT_CODE,
    )
    name: OrgName
    legal_representative: PersonName
    county: County
    address: Address
    contact: ContactIn

    @field_validator("credit_code")
    @classmethod
    def _valid_code(cls, value: str) -> str:
        return valid_credit_code(value)


class CompanyCreate(_OrganisationCreate):
    kind: EmploymentKind
    honours: list[Honour] = Field(
        default_factory=list, max_length=50, json_schema_extra=UNIQUE_ITEMS
    )

    @field_validator("honours")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return unique_entries(value) or []


class InstitutionCreate(_OrganisationCreate):
    level: InstitutionLevel
    tracks: list[Track] = Field(default_factory=list, max_length=4, json_schema_extra=UNIQUE_ITEMS)

    @field_validator("tracks")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return unique_entries(value) or []


#: Fields an organisation's PATCH may not set to null.
_PATCH_NOT_NULL = ("legal_representative", "address", "contact")


class OrganisationPatch(BaseModel):
    """What an organisation's own staff (or an officer) may change; null is not allowed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=never_null(*_PATCH_NOT_NULL),
    )

    legal_representative: PersonName | None = None
    address: Address | None = None
    contact: ContactIn | None = None

    _not_null = refuses_null(*_PATCH_NOT_NULL)


class _OrganisationOut(BaseModel):
    id: uuid.UUID
    credit_code: str
    name: str
    legal_representative: str
    county: County
    address: str
    contact: ContactOut
    masked: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CompanyOut(_OrganisationOut):
    kind: EmploymentKind
    honours: list[str]


class InstitutionOut(_OrganisationOut):
    level: InstitutionLevel
    tracks: list[Track]
