"""Apprenticeship API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.kit.strict import WholeNumber
from services.training.schemas import Day, EnrollmentOut


class ApprenticeshipPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentor_min_stars: WholeNumber = Field(ge=1, le=5, examples=[4])


class ApprenticeshipPolicyOut(BaseModel):
    version: int
    mentor_min_stars: int
    created_at: datetime


class ApprenticeshipPolicyHistory(BaseModel):
    current: ApprenticeshipPolicyOut | None = Field(description="Null until published")
    versions: list[ApprenticeshipPolicyOut]


class ApprenticeshipCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID = Field(description="An apprenticeship-type course")
    company_id: uuid.UUID | None = Field(
        None, description="The employing company; company staff may leave it out (their own)"
    )
    mentor_id: uuid.UUID
    apprentice_id: uuid.UUID
    starts_on: Day
    ends_on: Day


class ApprenticeshipOut(BaseModel):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    course_id: uuid.UUID
    company_id: uuid.UUID
    mentor_id: uuid.UUID
    apprentice_id: uuid.UUID
    starts_on: date
    ends_on: date
    mentor_basis: Literal["stars", "technical_expert"]
    mentor_stars: int | None
    policy_version: int
    created_at: datetime


class ProgressRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-03"])
    hours: float = Field(strict=True, ge=0, le=744, description="Hours trained in the month")
    assessment: float = Field(strict=True, ge=0, le=100, description="Mentor's assessment")
    note: str | None = Field(None, min_length=1, max_length=1000)


class ProgressOut(BaseModel):
    apprenticeship_id: uuid.UUID
    month: str
    hours: float
    assessment: float
    note: str | None
    recorded_at: datetime


class ApprenticeshipCompletion(BaseModel):
    apprenticeship: ApprenticeshipOut
    enrollment: EnrollmentOut
