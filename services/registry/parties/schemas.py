"""Party API shapes. Personal numbers are validated on input and masked on output.

Input models double as the bulk importer's row models: build a ``WorkerCreate`` from a CSV row
and pass it to :func:`services.registry.parties.registration.register_worker`. Every check that can
be done without the database is done here, so a row's errors come back with the field named.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from contracts.common import City, County, EmploymentKind, Track, WorkerStatus
from contracts.registry import Honour, InstitutionLevel, PartnerKind, TargetGroup
from services.kit.idnumbers import (
    InvalidCreditCode,
    InvalidIdNumber,
    InvalidMobile,
    parse_credit_code,
    parse_id_card,
    parse_mobile,
)
from services.kit.strict import IsoDate

#: Youngest age at which someone may be registered as a worker (Labour Law art. 15).
MIN_WORKER_AGE = 16

PersonName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^\S(.*\S)?$"),
    Field(examples=["李秀英"]),
]
#: OpenAPI formats naming the checks the platform applies (GB 11643, GB 32100, mainland mobile).
RESIDENT_ID: dict[str, Any] = {"format": "cn-resident-id"}
CREDIT_CODE: dict[str, Any] = {"format": "cn-credit-code"}
MOBILE: dict[str, Any] = {"format": "cn-mobile"}

OrgName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
LanguageName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=30, strip_whitespace=True, to_lower=True, pattern=r"^[a-z_-]+$"
    ),
    Field(examples=["cantonese"]),
]
Address = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]

#: Highest completed education.
Education = Literal[
    "none",
    "primary",
    "junior_high",
    "senior_high",
    "vocational",
    "junior_college",
    "bachelor",
    "postgraduate",
]
Gender = Literal["male", "female"]
CheckResult = Literal["clear", "record"]
PartnerStatus = Literal["active", "suspended"]
#: credit_data: to a partner platform; employment_platforms: to a public employment service
#: platform (an agency id as recipient), which may then pull the worker as available.
ConsentScope = Literal["credit_data", "employment_platforms"]
ConsentStatus = Literal["active", "withdrawn", "expired"]

#: Longest consent a worker may give in one go.
MAX_CONSENT_YEARS = 5


# --- validators shared by several models ---------------------------------------------------


def _id_card(value: str) -> str:
    try:
        card = parse_id_card(value)
    except InvalidIdNumber as exc:
        # The validator's own words ("check digit is 3 but should be X"), without a prefix.
        raise PydanticCustomError("invalid_id_card", str(exc)) from None
    return card.number


def _mobile(value: str) -> str:
    try:
        return parse_mobile(value)
    except InvalidMobile as exc:
        raise PydanticCustomError("invalid_mobile", str(exc)) from None


def _credit_code(value: str) -> str:
    try:
        return parse_credit_code(value)
    except InvalidCreditCode as exc:
        raise PydanticCustomError("invalid_credit_code", str(exc)) from None


def _unique(value: list[Any] | None) -> list[Any] | None:
    if value is not None and len(set(value)) != len(value):
        raise PydanticCustomError("duplicate_entry", "must not repeat an entry")
    return value


#: The document says what ``_unique`` enforces, so clients and contract testers know it.
UNIQUE_ITEMS: dict[str, Any] = {"uniqueItems": True}


def never_null(*names: str) -> Callable[[dict[str, Any]], None]:
    """A model's ``json_schema_extra``: these optional fields refuse null (absent = unchanged),
    so their schema has no null branch and no null default."""

    def strip(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema.get("properties", {}).get(name)
            if field is None or "anyOf" not in field:
                continue
            kept = [branch for branch in field.pop("anyOf") if branch.get("type") != "null"]
            field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
            if "default" in field and field["default"] is None:
                del field["default"]

    return strip


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


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


# --- workers -------------------------------------------------------------------------------


class HealthCheck(BaseModel):
    """A health certificate (健康证)."""

    model_config = ConfigDict(extra="forbid")

    date: IsoDate = Field(description="Day of the examination")
    institution: Annotated[
        str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)
    ] = Field(description="Hospital or clinic that examined the worker")
    valid_until: IsoDate = Field(description="Last day the certificate is valid")

    @field_validator("date")
    @classmethod
    def _not_future(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise PydanticCustomError("future_date", "must not be in the future")
        return value

    @field_validator("valid_until")
    @classmethod
    def _after_date(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        checked = info.data.get("date")
        if checked is not None and value < checked:
            raise PydanticCustomError("before_check", "must not be before the check date")
        return value


class NoCriminalRecordCheck(BaseModel):
    """A no-criminal-record certificate (无犯罪记录证明)."""

    model_config = ConfigDict(extra="forbid")

    date: IsoDate = Field(description="Day the certificate was issued")
    result: CheckResult = Field(description="clear, or record when a record was found")
    valid_until: IsoDate = Field(description="Last day the certificate is valid")

    @field_validator("date")
    @classmethod
    def _not_future(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise PydanticCustomError("future_date", "must not be in the future")
        return value

    @field_validator("valid_until")
    @classmethod
    def _after_date(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        issued = info.data.get("date")
        if issued is not None and value < issued:
            raise PydanticCustomError("before_check", "must not be before the check date")
        return value


class EmploymentJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: uuid.UUID
    kind: EmploymentKind | None = Field(
        None, description="employee_based or agency_based; defaults to the company's kind"
    )


class WorkerCreate(BaseModel):
    """A new worker. Gender and birth date come from the ID card; if sent they must agree."""

    model_config = ConfigDict(extra="forbid")

    name: PersonName
    # The custom formats name the check the platform applies (GB 11643, GB 32100, mainland
    # mobile), so clients and contract testers know what a valid value is.
    id_card_number: str = Field(
        description="18-character resident ID number (GB 11643)",
        examples=["11010519491231002X"],
        json_schema_extra=RESIDENT_ID,
    )
    gender: Gender | None = Field(None, description="Optional; must match the ID card")
    birth_date: IsoDate | None = Field(
        None, description="Optional; must match the ID card", examples=["1949-12-31"]
    )
    phone: str = Field(
        description="Mainland mobile number (+86)",
        examples=["13812345678"],
        json_schema_extra=MOBILE,
    )
    county: County = Field(description="Household-registration county")
    languages: list[LanguageName] = Field(
        default_factory=list, max_length=10, json_schema_extra=UNIQUE_ITEMS
    )
    education: Education | None = None
    tracks: list[Track] = Field(default_factory=list, max_length=4, json_schema_extra=UNIQUE_ITEMS)
    target_groups: list[TargetGroup] = Field(
        default_factory=list, max_length=4, json_schema_extra=UNIQUE_ITEMS
    )
    health_check: HealthCheck | None = None
    no_criminal_record: NoCriminalRecordCheck | None = None
    employment: EmploymentJoin | None = Field(
        None, description="Join this company at registration (a company registering a worker)"
    )

    @field_validator("id_card_number")
    @classmethod
    def _valid_id_card(cls, value: str) -> str:
        number = _id_card(value)
        age = age_on(parse_id_card(number).birth_date, dt.date.today())
        if age < MIN_WORKER_AGE:
            raise PydanticCustomError(
                "too_young",
                "the holder is {age} years old; workers must be at least {minimum}",
                {"age": age, "minimum": MIN_WORKER_AGE},
            )
        return number

    @field_validator("gender")
    @classmethod
    def _gender_matches(cls, value: str | None, info: ValidationInfo) -> str | None:
        number = info.data.get("id_card_number")
        if value is not None and number is not None:
            derived = parse_id_card(number).gender.value
            if value != derived:
                raise PydanticCustomError(
                    "mismatch",
                    "is {given} but the ID-card number says {derived}",
                    {"given": value, "derived": derived},
                )
        return value

    @field_validator("birth_date")
    @classmethod
    def _birth_matches(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        number = info.data.get("id_card_number")
        if value is not None and number is not None:
            derived = parse_id_card(number).birth_date
            if value != derived:
                raise PydanticCustomError(
                    "mismatch",
                    "is {given} but the ID-card number says {derived}",
                    {"given": value.isoformat(), "derived": derived.isoformat()},
                )
        return value

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _mobile(value)

    @field_validator("tracks", "languages", "target_groups")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return _unique(value) or []


#: Fields a worker may change on their own record; the rest need their company or an officer.
WORKER_SELF_EDITABLE = frozenset({"phone", "county", "languages", "education", "tracks"})
#: Fields no PATCH may set to null.
_NOT_NULL = ("name", "phone", "county", "languages", "tracks", "target_groups")


class WorkerPatch(BaseModel):
    """Changes to a worker (JSON merge patch: absent = unchanged, null = clear).

    The ID-card number, and the gender and birth date derived from it, cannot be patched.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=never_null(*_NOT_NULL))

    name: PersonName | None = None
    phone: str | None = Field(
        None, description="Mainland mobile number (+86)", json_schema_extra=MOBILE
    )
    county: County | None = None
    languages: list[LanguageName] | None = Field(
        None, max_length=10, json_schema_extra=UNIQUE_ITEMS
    )
    education: Education | None = None
    tracks: list[Track] | None = Field(None, max_length=4, json_schema_extra=UNIQUE_ITEMS)
    target_groups: list[TargetGroup] | None = Field(
        None, max_length=4, json_schema_extra=UNIQUE_ITEMS
    )
    health_check: HealthCheck | None = None
    no_criminal_record: NoCriminalRecordCheck | None = None

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_nullable", "may not be null")
        return value

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return None if value is None else _mobile(value)

    @field_validator("tracks", "languages", "target_groups")
    @classmethod
    def _no_duplicates(cls, value: list[str] | None) -> list[str] | None:
        return _unique(value)


class WorkerOut(BaseModel):
    id: uuid.UUID
    name: str
    gender: Gender
    birth_date: dt.date | None = Field(
        description="Null in masked views: with the region it would rebuild the ID-card number"
    )
    birth_year: int = Field(description="Year of birth (masked views show only this)")
    id_card_number: str = Field(
        description="In full, or masked to the last four characters (**************123X)"
    )
    phone: str = Field(description="Masked unless the caller may see it in full")
    masked: bool = Field(description="True when the personal numbers above are masked")
    county: County
    languages: list[str]
    education: Education | None
    tracks: list[Track]
    target_groups: list[TargetGroup]
    health_check: HealthCheck | None
    no_criminal_record: NoCriminalRecordCheck | None
    status: WorkerStatus
    verified_at: dt.datetime | None
    company_id: uuid.UUID | None = Field(description="Current company, if employed")
    employment_kind: EmploymentKind | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class WorkerLookup(BaseModel):
    """Find a worker by ID-card number (in the body, so it never lands in a URL or access log)."""

    model_config = ConfigDict(extra="forbid")

    id_card_number: str = Field(
        description="18-character resident ID number (GB 11643)",
        json_schema_extra=RESIDENT_ID,
    )

    @field_validator("id_card_number")
    @classmethod
    def _valid(cls, value: str) -> str:
        return _id_card(value)


#: Where POST /workers/{id}/status may move a worker; ``verified`` has its own route (/verify).
StatusTarget = Literal["registered", "active", "suspended", "left"]


class StatusChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: StatusTarget = Field(description="New status; a worker is verified by POST .../verify")
    reason: Reason


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = "identity documents checked"


class StatusChangeOut(BaseModel):
    from_status: WorkerStatus | None
    to_status: WorkerStatus
    reason: str
    changed_by: str
    changed_by_role: str | None
    changed_at: dt.datetime


class EmploymentOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    company_id: uuid.UUID
    kind: EmploymentKind
    joined_at: dt.datetime
    left_at: dt.datetime | None
    leave_reason: str | None


# --- organisations -------------------------------------------------------------------------


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    phone: str = Field(description="Mainland mobile number (+86)", json_schema_extra=MOBILE)

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _mobile(value)


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
        return _credit_code(value)


class CompanyCreate(_OrganisationCreate):
    kind: EmploymentKind
    honours: list[Honour] = Field(
        default_factory=list, max_length=50, json_schema_extra=UNIQUE_ITEMS
    )

    @field_validator("honours")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return _unique(value) or []


class InstitutionCreate(_OrganisationCreate):
    level: InstitutionLevel
    tracks: list[Track] = Field(default_factory=list, max_length=4, json_schema_extra=UNIQUE_ITEMS)

    @field_validator("tracks")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return _unique(value) or []


class OrganisationPatch(BaseModel):
    """What an organisation's own staff (or an officer) may change; null is not allowed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=never_null("legal_representative", "address", "contact"),
    )

    legal_representative: PersonName | None = None
    address: Address | None = None
    contact: ContactIn | None = None

    @field_validator("legal_representative", "address", "contact", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_nullable", "may not be null")
        return value


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


# --- employers and partners ----------------------------------------------------------------


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
        return _mobile(value)


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
        return None if value is None else _credit_code(value)

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


# --- consent -------------------------------------------------------------------------------


def years_later(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: ConsentScope = Field(description="What may be shared: credit_data, employment_platforms")
    recipient: Annotated[
        str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)
    ] = Field(description="Who may receive it: a partner id, or the name of an agency")
    expires_at: AwareDatetime = Field(
        description=f"When consent lapses: in the future, at most {MAX_CONSENT_YEARS} years ahead"
    )

    @field_validator("expires_at")
    @classmethod
    def _within_limits(cls, value: dt.datetime) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        if value <= now:
            raise PydanticCustomError("not_future", "must be in the future")
        if value > years_later(now, MAX_CONSENT_YEARS):
            raise PydanticCustomError(
                "too_far",
                "must be at most {years} years from now",
                {"years": MAX_CONSENT_YEARS},
            )
        return value.astimezone(dt.UTC)


class ConsentOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    scope: str
    recipient: str
    status: ConsentStatus
    granted_at: dt.datetime
    expires_at: dt.datetime
    withdrawn_at: dt.datetime | None
