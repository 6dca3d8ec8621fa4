"""Subsidy API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.registry import TargetGroup
from contracts.training import TrainingType

ClaimStatus = Literal["pending", "approved", "rejected", "paid"]
Amount = Annotated[float, Field(strict=True, ge=0, le=100_000)]


class SubsidyPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amounts: dict[TrainingType, Amount] = Field(
        description="Yuan per passed completion by training type; a type left out earns none",
        examples=[{"pre_job": 800, "refresher": 500}],
    )
    eligible_groups: list[TargetGroup] = Field(
        default_factory=list,
        max_length=4,
        description="Target groups that qualify; empty: every worker who passes",
    )


class SubsidyPolicyOut(BaseModel):
    version: int
    amounts: dict[str, float]
    eligible_groups: list[str]
    created_at: datetime


class SubsidyPolicyHistory(BaseModel):
    current: SubsidyPolicyOut | None = Field(description="Null until a policy is published")
    versions: list[SubsidyPolicyOut]


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrollment_id: uuid.UUID = Field(description="The passed completion the claim is for")


class ClaimReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: str | None = Field(
        None, min_length=1, max_length=500, description="Required when rejecting"
    )


class ClaimPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_reference: str = Field(
        min_length=1, max_length=100, description="Treasury or bank reference of the payment"
    )


class ClaimOut(BaseModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    worker_id: uuid.UUID
    course_id: uuid.UUID
    institution_id: uuid.UUID | None
    training_type: str
    amount: float
    policy_version: int
    status: ClaimStatus
    reason: str | None
    payment_reference: str | None
    filed_at: datetime
    reviewed_at: datetime | None
    paid_at: datetime | None
    version: int
