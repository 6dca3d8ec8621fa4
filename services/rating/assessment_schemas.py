"""API shapes of assessment years, appeals and the worker's own view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.rating.schemas import ContributionOut, WorkerRatingOut, Year


class YearCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: Year


class YearOut(BaseModel):
    year: int
    status: Literal["open", "closed"]
    opened_at: datetime
    closed_at: datetime | None
    policy_version: int | None = Field(description="The policy version the closing applied")
    published: int = Field(description="Levels the closing published")


class AppealCreate(BaseModel):
    """An appeal by the calling worker (the worker comes from the token)."""

    model_config = ConfigDict(extra="forbid")

    year: Year
    rating_id: uuid.UUID | None = Field(
        default=None, description="The score contested; omit to contest the published level"
    )
    reason: str = Field(min_length=1, max_length=1000)


class AppealDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "rejected"]
    reason: str = Field(min_length=1, max_length=1000)


class AppealOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    year: int
    rating_id: uuid.UUID | None
    reason: str
    filed_at: datetime
    decide_by: datetime = Field(description="The officer's deadline")
    overdue: bool = Field(description="Pending past its deadline")
    status: Literal["pending", "upheld", "rejected"]
    decided_at: datetime | None
    decision_reason: str | None


class PublicationOut(BaseModel):
    year: int
    stars: int
    score: float
    policy_version: int
    reason: Literal["closing", "appeal", "moderation"]
    appeal_id: uuid.UUID | None
    explanation: list[ContributionOut]
    published_at: datetime


class WorkerAssessmentOut(BaseModel):
    """The worker's own view: each year's level with its explanation, and every publication."""

    worker_id: uuid.UUID
    levels: list[WorkerRatingOut] = Field(description="Latest first; provisional ones marked")
    history: list[PublicationOut] = Field(description="Every publication, oldest first")
