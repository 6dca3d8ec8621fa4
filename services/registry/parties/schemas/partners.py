"""Partner schemas: partner platforms (recruitment platforms or agencies using the API), the
https webhook events are delivered to (a public host only, checked by :func:`https_webhook`),
their status and their responses.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from contracts.common import City
from contracts.registry import PartnerKind
from services.registry.parties.schemas.fields import CREDIT_CODE, OrgName, valid_credit_code
from services.registry.parties.schemas.organisations import ContactIn, ContactOut

PartnerStatus = Literal["active", "suspended"]


def https_webhook(value: str) -> str:
    """An https URL with a public host name: no credentials, no loopback or private address."""
    value = value.strip()
    if len(value) > 500:
        raise PydanticCustomError("invalid_webhook", "must be at most 500 characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise PydanticCustomError("invalid_webhook", "is not a valid URL") from None
    if parts.scheme != "https":
        raise PydanticCustomError("invalid_webhook", "must be an https:// URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise PydanticCustomError("invalid_webhook", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise PydanticCustomError("invalid_webhook", "must not contain credentials")
    if parts.fragment:
        raise PydanticCustomError("invalid_webhook", "must not contain a #fragment")
    if port is not None and not 1 <= port <= 65535:
        raise PydanticCustomError("invalid_webhook", "has an invalid port")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if host.lower() == "localhost" or host.lower().endswith((".localhost", ".local")):
            raise PydanticCustomError("invalid_webhook", "must be a public host") from None
        if "." not in host:
            raise PydanticCustomError("invalid_webhook", "must be a fully qualified host") from None
    else:
        if not address.is_global:
            raise PydanticCustomError("invalid_webhook", "must be a public address")
    return value


class PartnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: OrgName
    credit_code: str | None = Field(
        None,
        description="Unified social credit code, if any",
        json_schema_extra=CREDIT_CODE,
    )
    city: City
    kind: PartnerKind
    contact: ContactIn
    webhook_url: str | None = Field(
        None,
        description="https URL events are delivered to",
        examples=["https://hr.example.cn/hook"],
        json_schema_extra={
            "pattern": "^https://([A-Za-z0-9-]+\\.)+[A-Za-z]{2,}(/[^\\s#]*)?$",
            "maxLength": 500,
        },
    )

    @field_validator("credit_code")
    @classmethod
    def _valid_code(cls, value: str | None) -> str | None:
        return None if value is None else valid_credit_code(value)

    @field_validator("webhook_url")
    @classmethod
    def _valid_webhook(cls, value: str | None) -> str | None:
        return None if value is None else https_webhook(value)


class PartnerStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: PartnerStatus


class PartnerOut(BaseModel):
    id: uuid.UUID
    name: str
    credit_code: str | None
    city: City
    kind: PartnerKind
    contact: ContactOut
    masked: bool
    webhook_url: str | None
    status: PartnerStatus
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
