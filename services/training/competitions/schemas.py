"""Competition API shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import Track
from services.kit.strict import WholeNumber
from services.training.schemas import Day


class CompetitionPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winners: WholeNumber = Field(ge=1, le=100, description="Top places named 技术能手")
    min_total_score: float = Field(
        0, strict=True, ge=0, le=10_000, description="Lowest total score that may win"
    )


class CompetitionPolicyOut(BaseModel):
    version: int
    winners: int
    min_total_score: float
    created_at: datetime


class CompetitionPolicyHistory(BaseModel):
    current: CompetitionPolicyOut | None = Field(description="Null until a policy is published")
    versions: list[CompetitionPolicyOut]


class CompetitionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")
    track: Track
    held_on: Day
    rounds: WholeNumber = Field(1, ge=1, le=10, description="Judged rounds")


class CompetitionOut(BaseModel):
    id: uuid.UUID
    title: str
    track: Track
    held_on: date
    rounds: int
    policy_version: int = Field(description="Award policy version this competition follows")
    status: Literal["open", "finished"]
    created_at: datetime
    finished_at: datetime | None


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: uuid.UUID | None = Field(
        None, description="Worker to register; a worker registering themself may leave it out"
    )


class EntryOut(BaseModel):
    id: uuid.UUID
    competition_id: uuid.UUID
    worker_id: uuid.UUID
    registered_at: datetime
    total_score: float | None = Field(description="Set when the competition finishes")
    rank: int | None = Field(description="1 is first; ties share a rank")
    awarded: bool = Field(description="Named 肇庆市技术能手")


class ScoreRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_id: uuid.UUID
    round: WholeNumber = Field(ge=1, le=10)
    score: float = Field(strict=True, ge=0, le=100)


class ScoreOut(BaseModel):
    entry_id: uuid.UUID
    round: int
    score: float
    scored_at: datetime
