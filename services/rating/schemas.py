"""Rating API shapes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from services.kit.strict import NOT_BOOL_OR_STR
from services.rating.scoring import Source

#: Zhaoqing time (China has no daylight saving); the rating year is the local calendar year.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
MIN_YEAR, MAX_YEAR = 2000, 2100

Year = Annotated[int, Field(strict=True, ge=MIN_YEAR, le=MAX_YEAR, examples=[2026])]
ScoreValue = Annotated[
    Decimal,
    NOT_BOOL_OR_STR,
    Field(
        ge=0,
        le=100,
        decimal_places=2,
        description="Score from 0 to 100, at most two decimals",
        examples=[87.5],
    ),
    # A JSON number only (pydantic would document Decimal as "number or string").
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": 100,
            "description": "Score from 0 to 100, at most two decimals",
            "examples": [87.5],
        }
    ),
]


def current_year() -> int:
    return datetime.now(UTC).astimezone(CHINA_TZ).year


class RatingCreate(BaseModel):
    """A score. The rater (the calling account) and the source (from its role) come from the
    token, never from the body: sending ``rater_id`` or ``source`` is a 422."""

    model_config = ConfigDict(extra="forbid")

    worker_id: uuid.UUID
    year: Year = Field(default_factory=current_year, description="Defaults to the current year")
    score: ScoreValue
    comment: str | None = Field(default=None, max_length=500)


class LevelSummary(BaseModel):
    stars: int = Field(ge=1, le=5)
    score: float


class RatingOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    year: int
    source: Source = Field(description="Follows from the rater's role")
    rater_id: uuid.UUID | None = Field(
        description="Account id of the rater; null when the rated worker reads a score that "
        "others gave (raters stay anonymous to the worker)"
    )
    score: float
    comment: str | None
    created_at: datetime
    updated_at: datetime


class RatingPosted(RatingOut):
    level: LevelSummary = Field(description="The worker's level for the year after this score")


class SourceOut(BaseModel):
    count: int
    mean: float


class WorkerRatingOut(BaseModel):
    worker_id: uuid.UUID
    year: int
    stars: int = Field(ge=1, le=5)
    score: float = Field(description="Weighted score, 0-100, two decimals; stars derive from it")
    sources: dict[Source, SourceOut] = Field(description="Only sources with scores appear")
    updated_at: datetime
