"""Worker schemas: registration (``WorkerCreate``, which the bulk importer also validates rows
with), changes, lookup, status changes, and the worker and employment responses.

Every check that can be done without the database is done here, so a request's or a row's errors
come back with the field named: the ID-card number's check digit and the holder's minimum age,
gender and birth date agreeing with it, certificates not dated in the future.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from contracts.common import County, EmploymentKind, Track, WorkerStatus
from contracts.registry import TargetGroup
from services.kit.idnumbers import InvalidIdNumber, parse_id_card
from services.kit.strict import IsoDate
from services.registry.parties.schemas.fields import (
    MOBILE,
    RESIDENT_ID,
    UNIQUE_ITEMS,
    PersonName,
    never_null,
    refuses_null,
    unique_entries,
    valid_mobile,
)

#: Youngest age at which someone may be registered as a worker (Labour Law art. 15).
MIN_WORKER_AGE = 16

LanguageName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=30, strip_whitespace=True, to_lower=True, pattern=r"^[a-z_-]+$"
    ),
    Field(examples=["cantonese"]),
]
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


def _id_card(value: str) -> str:
    try:
        card = parse_id_card(value)
    except InvalidIdNumber as exc:
        # The validator's own words ("check digit is 3 but should be X"), without a prefix.
        raise PydanticCustomError("invalid_id_card", str(exc)) from None
    return card.number


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class _DatedCheck(BaseModel):
    """A dated certificate about the worker: issued or examined on ``date``, which is not in
    the future, and valid until ``valid_until``, which is not before it. The subclasses declare
    both fields, so each keeps its own descriptions and field order."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("date", check_fields=False)
    @classmethod
    def _not_future(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise PydanticCustomError("future_date", "must not be in the future")
        return value

    @field_validator("valid_until", check_fields=False)
    @classmethod
    def _after_date(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        checked = info.data.get("date")
        if checked is not None and value < checked:
            raise PydanticCustomError("before_check", "must not be before the check date")
        return value


class HealthCheck(_DatedCheck):
    """A health certificate (健康证)."""

    date: IsoDate = Field(description="Day of the examination")
    institution: Annotated[
        str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)
    ] = Field(description="Hospital or clinic that examined the worker")
    valid_until: IsoDate = Field(description="Last day the certificate is valid")


class NoCriminalRecordCheck(_DatedCheck):
    """A no-criminal-record certificate (无犯罪记录证明)."""

    date: IsoDate = Field(description="Day the certificate was issued")
    result: CheckResult = Field(description="clear, or record when a record was found")
    valid_until: IsoDate = Field(description="Last day the certificate is valid")


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
        return valid_mobile(value)

    @field_validator("tracks", "languages", "target_groups")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return unique_entries(value) or []


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

    _not_null = refuses_null(*_NOT_NULL)

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return None if value is None else valid_mobile(value)

    @field_validator("tracks", "languages", "target_groups")
    @classmethod
    def _no_duplicates(cls, value: list[str] | None) -> list[str] | None:
        return unique_entries(value)


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
