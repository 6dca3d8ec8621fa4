"""Entrepreneurship API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import County
from services.kit.strict import WholeNumber
from services.training.schemas import Day

Stage = Literal["idea", "prototype", "registered", "operating"]
FinancingStatus = Literal["requested", "matched", "approved", "declined"]
ContestResult = Literal["entered", "finalist", "winner", "eliminated"]
#: Where a project is referred (项目推介): an incubator, a training base, an investor.
ReferralTarget = Literal["incubator", "training_base", "investor"]
ReferralStatus = Literal["referred", "accepted", "declined"]
Text = Field(min_length=1, max_length=2000, pattern=r"^\S(.*\S)?$")


class VenturePolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    startup_subsidy_amount: float = Field(strict=True, ge=0, le=1_000_000, examples=[5000])
    subsidy_min_stage: Stage = Field(
        "registered", description="Lowest project stage that may claim the start-up subsidy"
    )


class VenturePolicyOut(BaseModel):
    version: int
    startup_subsidy_amount: float
    subsidy_min_stage: Stage
    created_at: datetime


class VenturePolicyHistory(BaseModel):
    current: VenturePolicyOut | None = Field(description="Null until a policy is published")
    versions: list[VenturePolicyOut]


class VentureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: uuid.UUID | None = Field(
        None, description="The founder; a worker creating their own may leave it out"
    )
    name: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    idea: str = Text
    stage: Stage = "idea"
    county: County


class StageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: Stage


class GuidanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentor_name: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    held_on: Day
    notes: str = Text


class GuidanceOut(BaseModel):
    id: uuid.UUID
    mentor_name: str
    held_on: date
    notes: str
    recorded_at: datetime


class FinancingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lender_kind: Literal["bank", "fund"]
    lender_name: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    amount: float = Field(strict=True, gt=0, le=100_000_000, description="Yuan sought")


class FinancingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["matched", "approved", "declined"]
    note: str | None = Field(None, min_length=1, max_length=500)


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_kind: ReferralTarget
    to_name: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    base_id: uuid.UUID | None = Field(
        None, description="The training base (required when to_kind is training_base)"
    )
    note: str | None = Field(None, min_length=1, max_length=500)


class ReferralAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["accepted", "declined"]
    note: str | None = Field(None, min_length=1, max_length=500)


class ReferralOut(BaseModel):
    id: uuid.UUID
    to_kind: ReferralTarget
    to_name: str
    base_id: uuid.UUID | None
    status: ReferralStatus
    note: str | None
    referred_at: datetime
    answered_at: datetime | None


class FinancingOut(BaseModel):
    id: uuid.UUID
    lender_kind: Literal["bank", "fund"]
    lender_name: str
    amount: float
    status: FinancingStatus
    note: str | None
    created_at: datetime
    updated_at: datetime


class SubsidyReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(None, min_length=1, max_length=500)


class SubsidyPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_reference: str = Field(min_length=1, max_length=100)


class StartupSubsidyOut(BaseModel):
    id: uuid.UUID
    amount: float
    policy_version: int
    status: Literal["pending", "approved", "rejected", "paid"]
    reason: str | None
    filed_at: datetime
    reviewed_at: datetime | None
    paid_at: datetime | None


class ContestEntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contest_year: WholeNumber = Field(ge=2000, le=2100)


class ContestResultRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["finalist", "winner", "eliminated"]
    award: str | None = Field(None, min_length=1, max_length=200, examples=["一等奖"])


class ContestEntryOut(BaseModel):
    id: uuid.UUID
    contest_year: int
    result: ContestResult
    award: str | None
    entered_at: datetime
    judged_at: datetime | None


class VentureOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    name: str
    idea: str
    stage: Stage
    county: str
    created_at: datetime
    version: int
    guidance: list[GuidanceOut]
    referrals: list[ReferralOut]
    financing: list[FinancingOut]
    startup_subsidy: StartupSubsidyOut | None
    contest_entries: list[ContestEntryOut]
