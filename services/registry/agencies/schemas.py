"""Validated shapes of agencies, their keys and clients, and data-sharing agreements."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from services.kit.idnumbers import InvalidCreditCode, parse_credit_code
from services.kit.strict import IsoDateTime, WholeNumber
from services.registry.agencies.datasets import DATASETS

AgencyKind = Literal[
    "hrss",  # 人力资源和社会保障局
    "commerce",  # 商务局 (national household-service credit platform)
    "market_regulation",  # 市场监督管理局
    "civil_affairs",  # 民政局
    "employment_service",  # public employment service platform (省/市/县公共就业服务平台)
]
AgencyLevel = Literal["province", "city", "county"]
AgencyStatus = Literal["active", "suspended"]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^\S(.*\S)?$")]


class AgencyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AgencyKind
    level: AgencyLevel
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
    credit_code: str = Field(
        description="Unified social credit code (GB 32100)",
        examples=["11441200007187370L"],
        json_schema_extra={"format": "cn-credit-code"},
    )

    @field_validator("credit_code")
    @classmethod
    def _valid_code(cls, value: str) -> str:
        try:
            return parse_credit_code(value)
        except InvalidCreditCode as exc:
            raise PydanticCustomError("invalid_credit_code", str(exc)) from None


class AgencyStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AgencyStatus


class AgencyOut(BaseModel):
    id: uuid.UUID
    kind: AgencyKind
    level: AgencyLevel
    name: str
    credit_code: str
    status: AgencyStatus
    created_at: datetime
    updated_at: datetime


class AgencyKeyCreate(BaseModel):
    """An agency's Ed25519 public key as a JWK (``kty`` OKP, ``crv`` Ed25519, ``x``)."""

    model_config = ConfigDict(extra="forbid")

    kid: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: Annotated[str, Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]{43}$")]


class AgencyKeyOut(BaseModel):
    kid: str
    agency_id: uuid.UUID
    jwk: dict[str, Any]
    active: bool
    created_at: datetime
    revoked_at: datetime | None


class AgencyClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]


class AgencyClientOut(BaseModel):
    client_id: str
    agency_id: uuid.UUID
    name: str
    active: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class AgencyClientCreated(AgencyClientOut):
    client_secret: str = Field(description="Shown once; only its hash is stored")


FieldName = Annotated[str, Field(min_length=1, max_length=64)]


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
    legal_basis: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^\S(.*\S)?$")]
    purpose: Text
    datasets: dict[str, list[FieldName]] = Field(
        min_length=1,
        max_length=len(DATASETS),
        description="Dataset → the fields of it the agency may receive (feeds) or send "
        "(imports); see GET /api/v1/feeds for each dataset's fields",
    )
    retention_days: WholeNumber = Field(ge=1, le=3650)
    valid_from: IsoDateTime
    valid_until: IsoDateTime

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise PydanticCustomError("out_of_range", "is out of range") from None

    @field_validator("datasets")
    @classmethod
    def _known(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for dataset, fields in value.items():
            allowed = DATASETS.get(dataset)
            if allowed is None:
                raise PydanticCustomError(
                    "unknown_dataset",
                    "unknown dataset {dataset}; use one of {known}",
                    {"dataset": dataset, "known": ", ".join(DATASETS)},
                )
            if not fields:
                raise PydanticCustomError(
                    "no_fields", "dataset {dataset} names no field", {"dataset": dataset}
                )
            if len(set(fields)) != len(fields):
                raise PydanticCustomError(
                    "repeated_field", "dataset {dataset} repeats a field", {"dataset": dataset}
                )
            unknown = [f for f in fields if f not in allowed]
            if unknown:
                raise PydanticCustomError(
                    "unknown_field",
                    "dataset {dataset} has no field {fields}; its fields: {allowed}",
                    {
                        "dataset": dataset,
                        "fields": ", ".join(unknown),
                        "allowed": ", ".join(allowed),
                    },
                )
        return value

    @model_validator(mode="after")
    def _period(self) -> AgreementCreate:
        if self.valid_until <= self.valid_from:
            raise PydanticCustomError("invalid_period", "valid_until must be after valid_from")
        return self


class AgreementOut(BaseModel):
    id: uuid.UUID
    agency_id: uuid.UUID
    reference: str
    legal_basis: str
    purpose: str
    datasets: dict[str, list[str]]
    retention_days: int
    valid_from: datetime
    valid_until: datetime
    in_force: bool
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
