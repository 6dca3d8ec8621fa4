"""Training API shapes. Request bodies forbid unknown fields so typos fail loudly, and their
numbers are strict: ``true`` or ``"60"`` for a score is a 422, never silently 1 or 60."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import Track
from contracts.training import TrainingType

EnrollmentStatus = Literal["enrolled", "completed"]


class CourseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$", examples=["母婴护理"])
    track: Track
    training_type: TrainingType
    hours: float = Field(strict=True, gt=0, le=1000, description="Scheduled hours of the course")
    pass_score: float = Field(
        60, strict=True, ge=0, le=100, description="Lowest passing score, 0-100"
    )
    institution_id: uuid.UUID | None = Field(
        None,
        description="Training institution running the course. Institution staff may leave it "
        "out (it is their own) or name their own; officers may name any, or none.",
    )


class CourseOut(BaseModel):
    id: uuid.UUID
    title: str
    track: Track
    training_type: TrainingType
    hours: float
    pass_score: float
    institution_id: uuid.UUID | None
    version: int
    created_at: datetime


class EnrollmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: uuid.UUID
    worker_id: uuid.UUID | None = Field(
        None,
        description="Worker to enrol. A worker enrolling themself may leave it out; everyone "
        "else must name the worker.",
    )


class ResultRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float = Field(strict=True, ge=0, le=100, description="Assessment score, 0-100")
    hours_attended: float = Field(
        strict=True, ge=0, le=1000, description="Hours the worker attended"
    )


class EnrollmentOut(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    worker_id: uuid.UUID | None = Field(
        None,
        description="Worker to enrol. A worker enrolling themself may leave it out; everyone "
        "else must name the worker.",
    )
    status: EnrollmentStatus
    score: float | None
    hours_attended: float | None
    passed: bool | None = Field(description="Set at completion; null until then")
    version: int
    enrolled_at: datetime
    result_recorded_at: datetime | None
    completed_at: datetime | None
