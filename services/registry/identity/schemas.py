"""Identity API shapes. Phones are validated on input and masked on output unless the caller
is the account holder or an officer/admin."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.kit.idnumbers import InvalidMobile, parse_mobile
from services.registry.identity.passwords import MAX_LOGIN_LENGTH, policy_violation
from services.registry.identity.scopes import PartnerScope

AccountRole = Literal["worker", "employer", "company", "institution", "officer", "admin"]
DisplayName = Annotated[
    str, Field(min_length=1, max_length=50, pattern=r"^\S(.*\S)?$", examples=["李秀英"])
]
Phone = Annotated[
    str,
    Field(
        max_length=32,
        description="Mainland mobile number",
        examples=["13812345678"],
        json_schema_extra={"format": "cn-mobile"},
    ),
]
#: Documents the password policy's "not all digits" (an unanchored pattern: some non-digit).
NOT_ALL_DIGITS: dict[str, str] = {"pattern": r"\D"}
LoginPassword = Annotated[str, Field(min_length=1, max_length=MAX_LOGIN_LENGTH)]
OpaqueToken = Annotated[str, Field(min_length=1, max_length=200)]


def _mobile(value: str) -> str:
    try:
        return parse_mobile(value)
    except InvalidMobile as exc:
        raise ValueError(str(exc)) from exc


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone
    password: LoginPassword

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _mobile(value)


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str = Field(description="Opaque; exchange at /api/v1/auth/refresh")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid")
    role: AccountRole
    party_id: uuid.UUID | None


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: OpaqueToken


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: LoginPassword
    new_password: str = Field(
        min_length=10,
        max_length=MAX_LOGIN_LENGTH,
        description="At least 10 characters, not all digits",
        json_schema_extra=NOT_ALL_DIGITS,
    )

    @field_validator("new_password")
    @classmethod
    def _policy(cls, value: str) -> str:
        if (problem := policy_violation(value)) is not None:
            raise ValueError(problem)
        return value


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone
    password: str = Field(
        min_length=10,
        max_length=MAX_LOGIN_LENGTH,
        description="At least 10 characters, not all digits, not the phone",
        json_schema_extra=NOT_ALL_DIGITS,
    )
    role: AccountRole
    party_id: uuid.UUID | None = Field(
        default=None,
        validate_default=True,  # so a missing party_id is checked against the role too
        description="The worker, employer, company or institution the account acts for; "
        "required for those roles, absent for officer and admin",
    )
    display_name: DisplayName

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _mobile(value)

    @field_validator("password")
    @classmethod
    def _policy(cls, value: str, info: ValidationInfo) -> str:
        if (problem := policy_violation(value, info.data.get("phone"))) is not None:
            raise ValueError(problem)
        return value

    @field_validator("party_id")
    @classmethod
    def _party_for_role(cls, value: uuid.UUID | None, info: ValidationInfo) -> uuid.UUID | None:
        role = info.data.get("role")
        if role in ("officer", "admin") and value is not None:
            raise ValueError(f"must be absent for role {role}")
        if role not in (None, "officer", "admin") and value is None:
            raise ValueError(f"is required for role {role}")
        return value


class AccountOut(BaseModel):
    id: uuid.UUID
    phone: str = Field(description="Full for the account holder, officers and admins; else masked")
    role: AccountRole
    party_id: uuid.UUID | None
    display_name: str
    status: Literal["active", "disabled"]
    locked_until: datetime | None
    password_changed_at: datetime
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
    scopes: list[PartnerScope] = Field(
        min_length=1, max_length=20, json_schema_extra={"uniqueItems": True}
    )

    @field_validator("scopes")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a scope")
        return value


class ClientOut(BaseModel):
    client_id: str
    partner_id: uuid.UUID
    name: str
    scopes: list[PartnerScope]
    active: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ClientCreated(ClientOut):
    client_secret: str = Field(description="Shown once; only its hash is stored")


class ClientToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str = Field(description="Space-separated scopes granted")
