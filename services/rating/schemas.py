"""Rating API shapes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from services.kit.errors import InvalidField
from services.kit.strict import NOT_BOOL_OR_STR
from services.rating.scoring import Source, round_score

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


class Criteria(BaseModel):
    """The five criteria of an employer review (or of an evaluation), each 0-100."""

    model_config = ConfigDict(extra="forbid")

    skill: ScoreValue
    punctuality: ScoreValue
    attitude: ScoreValue
    safety: ScoreValue
    communication: ScoreValue

    def mean(self) -> Decimal:
        """The score: the criteria's mean, rounded half-up to two decimals (exact)."""
        values = list(self.model_dump().values())
        return round_score(Fraction(sum(values, Decimal(0))) / len(values))


class RatingCreate(BaseModel):
    """A score. The rater (the calling account) and the source come from the token and the
    engagement, never from the body: sending ``rater_id`` or ``source`` is a 422.

    - An **employer review** names the finished ``engagement_id`` it is for and gives the
      ``criteria`` (the score is their mean); only the account that posted the engagement's job
      may give it, once, within the policy's review window; its year is the year the
      engagement ended.
    - Company staff without an engagement give their **company's evaluation** of a current
      employee, and a worker their **self-evaluation**: once per assessment year each, with a
      ``score`` or ``criteria``.
    """

    model_config = ConfigDict(extra="forbid")

    worker_id: uuid.UUID
    year: Year | None = Field(
        default=None,
        description="Assessment year; defaults to the current year, or for an employer review "
        "to the year the engagement ended (which it must then equal)",
    )
    engagement_id: uuid.UUID | None = Field(
        default=None, description="The finished engagement an employer review is for"
    )
    score: ScoreValue | None = Field(default=None, description="Give a score or criteria")
    criteria: Criteria | None = None
    comment: str | None = Field(default=None, max_length=500)

    def value(self) -> Decimal:
        """The score given, or the criteria's mean; a 422 naming the field otherwise."""
        if (self.score is None) == (self.criteria is None):
            raise InvalidField("score", "give either score or criteria")
        if self.engagement_id is not None and self.criteria is None:
            raise InvalidField("criteria", "an employer review gives criteria")
        if self.criteria is not None:
            return self.criteria.mean()
        assert self.score is not None
        return self.score


class LevelSummary(BaseModel):
    stars: int = Field(ge=1, le=5)
    score: float


ScoreStatus = Literal["visible", "flagged", "kept", "hidden"]


class RatingOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    year: int
    source: Source = Field(description="employer (a review), company or self (evaluations)")
    rater_id: uuid.UUID | None = Field(
        description="Account id of the rater; null when the rated worker reads a score that "
        "others gave (raters stay anonymous to the worker)"
    )
    score: float
    comment: str | None
    created_at: datetime
    updated_at: datetime
    engagement_id: uuid.UUID | None = Field(description="The engagement an employer review is for")
    criteria: dict[str, float] | None = Field(description="Criteria scores, if given")
    status: ScoreStatus = Field(
        description="visible and kept count; flagged awaits moderation and does not count yet; "
        "hidden (by moderation or an upheld appeal) does not count"
    )
    flags: list[str] = Field(description="Anti-abuse signals raised when the score arrived")
    reply: str | None = Field(description="The worker's public reply")
    replied_at: datetime | None


class RatingPosted(RatingOut):
    level: LevelSummary | None = Field(
        description="The worker's provisional level for the year after this score; null while "
        "nothing of the year counts yet (a flagged first review)"
    )


class ReplyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500, description="The worker's public reply")


class ModerationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["hide", "keep"]
    reason: str = Field(min_length=1, max_length=500)


class ModerationOut(BaseModel):
    id: uuid.UUID
    rating_id: uuid.UUID
    action: Literal["hide", "keep"]
    reason: str
    actor: str
    at: datetime


class SourceOut(BaseModel):
    count: int
    mean: float


class ContributionOut(BaseModel):
    source: Source
    count: int = Field(description="Scores of the source that counted")
    mean: float
    weight: float = Field(description="The weight it counted with, after the absent-source rule")
    points: float = Field(description="weight x mean, two decimals; the points sum to the score")


class WorkerRatingOut(BaseModel):
    worker_id: uuid.UUID
    year: int
    stars: int = Field(ge=1, le=5)
    score: float = Field(description="Weighted score, 0-100, two decimals; stars derive from it")
    sources: dict[Source, SourceOut] = Field(description="Only sources with scores appear")
    updated_at: datetime
    provisional: bool = Field(
        description="True while the year is open: computed from the evidence so far, not yet "
        "published"
    )
    policy_version: int = Field(description="Version of the star policy that computed it")
    explanation: list[ContributionOut] = Field(
        description="Each weighed source's contribution; the points sum to the score"
    )
