"""Recruitment API shapes: jobs, matches, applications, engagements, webhooks, fairs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

from contracts.common import City, County, Language, Track
from services.kit.strict import IsoDate, IsoDateTime

JobStatus = Literal["open", "paused", "filled", "closed", "expired"]
PayPeriod = Literal["month", "day", "hour"]
Duty = Annotated[str, Field(min_length=1, max_length=200)]
ExternalId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobIn(_Strict):
    """A job as its poster writes it."""

    external_id: ExternalId | None = Field(
        None,
        description="The partner's own job id: posting the same id again is idempotent "
        "(required for partner platforms, not allowed for others)",
    )
    employer_id: uuid.UUID | None = Field(
        None,
        description="Partner platforms only: the registered employer (household) the job is "
        "for; that employer reviews the worker once the engagement finishes. Others post as "
        "the party of their token",
    )
    title: str = Field(min_length=1, max_length=200, examples=["住家保姆 (南山区)"])
    track: Track
    duties: list[Duty] = Field(default_factory=list, max_length=30)
    city: City
    district: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="District; for Zhaoqing jobs the county (duanzhou, gaoyao …)",
    )
    live_in: bool = Field(False, strict=True)
    schedule: str = Field(min_length=1, max_length=200, examples=["Mon-Sat 8:00-18:00"])
    pay_min: int = Field(
        strict=True, ge=0, le=1_000_000, description="Lowest pay per period, in yuan"
    )
    pay_max: int = Field(
        strict=True, ge=0, le=1_000_000, description="Highest pay per period, in yuan"
    )
    pay_period: PayPeriod = "month"
    languages: list[Language] = Field(default_factory=list, max_length=10)
    certificate_required: bool = Field(False, strict=True)
    min_stars: int | None = Field(None, strict=True, ge=1, le=5)
    positions: int = Field(1, strict=True, ge=1, le=100)
    start_date: IsoDate
    expires_at: IsoDateTime | None = Field(
        None,
        description="When the job stops taking applications and leaves the listings (with "
        "its UTC offset; in the future when posted). Without it the job stays open until "
        "its poster closes it",
    )

    @model_validator(mode="after")
    def _pay_range(self) -> JobIn:
        if self.pay_max < self.pay_min:
            raise ValueError("pay_max must not be below pay_min")
        return self


class JobOut(BaseModel):
    id: uuid.UUID
    external_id: str | None
    poster_role: Literal["employer", "company", "partner", "agency"]
    employer_id: uuid.UUID | None
    company_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    agency_id: uuid.UUID | None = Field(
        description="The public employment service platform the job was imported from"
    )
    title: str
    track: Track
    duties: list[str]
    city: City
    district: str | None
    live_in: bool
    schedule: str
    pay_min: int
    pay_max: int
    pay_period: PayPeriod
    languages: list[str]
    certificate_required: bool
    min_stars: int | None
    positions: int
    start_date: date
    expires_at: datetime | None
    status: JobStatus = Field(
        description="expired once expires_at has passed (even before the sweep records it)"
    )
    created_at: datetime
    updated_at: datetime


class JobStatusChange(_Strict):
    status: Literal["open", "paused", "filled", "closed"]
    note: str | None = Field(None, max_length=500)


class BulkJobs(_Strict):
    jobs: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=500,
        description="Rows, each a JobIn with external_id; each row is checked on its own",
    )


class BulkRow(BaseModel):
    row: int = Field(description="Index of the row in the request, from 0")
    external_id: str | None
    outcome: Literal["created", "updated", "unchanged", "error"]
    job_id: uuid.UUID | None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BulkReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: int
    rows: list[BulkRow]


class ReasonOut(BaseModel):
    factor: str = Field(examples=["stars"])
    points: float
    detail: str


class MatchItem(BaseModel):
    worker_id: uuid.UUID
    name: str
    county: County
    stars: int | None
    guarantee_mark: bool = Field(
        description="On credit's 诚信红名单: trustworthy, guaranteed; ranks first (red_list)"
    )
    score: float
    reasons: list[ReasonOut]


class MatchResult(BaseModel):
    job_id: uuid.UUID
    policy_version: int = Field(description="Version of the match policy that scored this")
    as_of: date
    rows_read: int = Field(description="Rows of the per-track ordering read to find the top")
    items: list[MatchItem]


class JobMatchItem(BaseModel):
    job: JobOut
    score: float
    reasons: list[ReasonOut]


class JobsForMe(BaseModel):
    worker_id: uuid.UUID
    policy_version: int
    as_of: date
    items: list[JobMatchItem]


class PreferencesIn(_Strict):
    preferred_cities: list[City] | None = Field(None, max_length=6)
    expected_pay_min: int | None = Field(None, strict=True, ge=0, le=1_000_000)
    accepts_live_in: bool | None = Field(None, strict=True)


class PreferencesOut(PreferencesIn):
    worker_id: uuid.UUID


class MatchPolicyOut(BaseModel):
    version: int
    note: str
    created_at: datetime
    weights: dict[str, Any]


# --- Applications, offers, engagements ----------------------------------------------------

ApplicationStatus = Literal[
    "invited",
    "applied",
    "shortlisted",
    "interviewing",
    "offered",
    "hired",
    "rejected",
    "withdrawn",
    "declined",
]
ApplicationAction = Literal[
    "apply", "shortlist", "interview", "offer", "accept", "decline", "reject", "withdraw"
]


class ApplyIn(_Strict):
    fair_id: uuid.UUID | None = Field(None, description="The fair the application came from")


class InviteIn(_Strict):
    worker_id: uuid.UUID
    fair_id: uuid.UUID | None = None


class Interview(_Strict):
    at: IsoDateTime
    place: str | None = Field(None, min_length=1, max_length=300)
    online_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _where(self) -> Interview:
        if (self.place is None) == (self.online_url is None):
            raise ValueError("give exactly one of place and online_url")
        return self


class Offer(_Strict):
    start_date: IsoDate
    end_date: IsoDate | None = None
    pay: int = Field(strict=True, ge=0, le=1_000_000)
    pay_period: PayPeriod = "month"
    terms: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _dates(self) -> Offer:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class ApplicationActionIn(_Strict):
    action: ApplicationAction
    interview: Interview | None = Field(None, description="Required for action interview")
    offer: Offer | None = Field(None, description="Required for action offer")
    note: str | None = Field(None, max_length=500)


class HistoryOut(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor_role: str
    note: str | None
    at: datetime


class ApplicationOut(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    worker_id: uuid.UUID
    origin: Literal["applied", "invited"]
    status: ApplicationStatus
    fair_id: uuid.UUID | None
    interview: dict[str, Any] | None
    offer: dict[str, Any] | None
    engagement_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    history: list[HistoryOut]


EngagementStatus = Literal["scheduled", "active", "finished", "cancelled"]


class EngagementOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    job_id: uuid.UUID
    worker_id: uuid.UUID
    employer_id: uuid.UUID | None
    company_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    track: Track
    start_date: date
    end_date: date | None
    terms: dict[str, Any]
    status: EngagementStatus
    started_at: datetime | None
    finished_at: datetime | None
    history: list[HistoryOut]


class FinishIn(_Strict):
    end_date: IsoDate = Field(description="Last day worked")
    note: str | None = Field(None, max_length=500)


class CancelIn(_Strict):
    note: str | None = Field(None, max_length=500)
