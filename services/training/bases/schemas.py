"""Training-base API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import County
from services.kit.strict import WholeNumber
from services.training.schemas import Day

BaseLevel = Literal["provincial_demonstration", "municipal_demonstration", "poverty_alleviation"]


class BasePolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rent_free_months: WholeNumber = Field(ge=0, le=120, examples=[24])
    free_property_management_months: WholeNumber = Field(ge=0, le=120, examples=[12])
    provincial_target: WholeNumber = Field(ge=0, le=100, examples=[2])
    municipal_target: WholeNumber = Field(ge=0, le=100, examples=[6])


class BasePolicyOut(BaseModel):
    version: int
    rent_free_months: int
    free_property_management_months: int
    provincial_target: int
    municipal_target: int
    created_at: datetime


class BasePolicyHistory(BaseModel):
    current: BasePolicyOut | None = Field(description="Null until a policy is published")
    versions: list[BasePolicyOut]


class TrainingBaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    level: BaseLevel
    county: County
    address: str = Field(min_length=1, max_length=300, pattern=r"^\S(.*\S)?$")
    capacity: WholeNumber = Field(ge=1, le=100_000, description="Trainee places")


class TrainingBaseOut(BaseModel):
    id: uuid.UUID
    name: str
    level: BaseLevel
    county: str
    address: str
    capacity: int
    created_at: datetime


class ResidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: uuid.UUID
    project: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    moved_in_on: Day


class ResidentOut(BaseModel):
    id: uuid.UUID
    base_id: uuid.UUID
    company_id: uuid.UUID
    project: str
    moved_in_on: date
    rent_free_until: date = Field(description="Last day without rent")
    property_management_free_until: date = Field(description="Last day without PM fees")
    policy_version: int


class BenefitLine(BaseModel):
    resident: ResidentOut
    base_name: str
    rent_free_active: bool
    property_management_free_active: bool
    expiring: list[Literal["rent_free", "property_management_free"]] = Field(
        description="Benefits ending within the report's window"
    )


class LevelCount(BaseModel):
    level: BaseLevel
    bases: int
    target: int | None = Field(description="The policy's target for the level, if any")


class BenefitReport(BaseModel):
    as_of: date
    within_days: int
    policy_version: int | None
    levels: list[LevelCount]
    residents: list[BenefitLine]
