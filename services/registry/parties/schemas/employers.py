"""Employer schemas: a household hiring domestic help (雇主), known by its mobile number."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from contracts.common import City
from services.registry.parties.schemas.fields import MOBILE, Address, PersonName, valid_mobile


class EmployerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    phone: str = Field(description="Mainland mobile number (+86)", json_schema_extra=MOBILE)
    city: City
    district: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)] | None
    ) = None
    address: Address | None = None

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return valid_mobile(value)


class EmployerOut(BaseModel):
    id: uuid.UUID
    name: str
    phone: str = Field(description="Masked unless the caller may see it in full")
    masked: bool
    city: City
    district: str | None
    address: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
