"""The star policy as the API publishes and accepts it (DESIGN.md §7: rules are data)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from services.kit.strict import NOT_BOOL_OR_STR
from services.rating.scoring import SOURCES, AbsentRule, Source

Weight = Annotated[
    Decimal,
    NOT_BOOL_OR_STR,
    Field(ge=0, le=1, decimal_places=4),
    # Out as a JSON number, as documented (pydantic would write a string).
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
Threshold = Annotated[
    Decimal,
    NOT_BOOL_OR_STR,
    Field(ge=0, le=100, decimal_places=2),
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100}),
]
Days = Annotated[int, Field(strict=True, ge=1, le=366)]
Stars = Annotated[int, Field(strict=True, ge=1, le=5)]


class StarThreshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_score: Threshold = Field(description="Lowest rounded score that earns these stars")
    stars: Stars


class AbuseRules(BaseModel):
    """When a new employer review is flagged for moderation (not counted until kept)."""

    model_config = ConfigDict(extra="forbid")

    top_score: Threshold = Field(description="A review at or above this is a top review")
    max_top_reviews_per_employer: Annotated[int, Field(strict=True, ge=1, le=100)] = Field(
        description="More top reviews than this from one account to one worker in a year: "
        "flag 'repeat-top-reviewer'"
    )
    burst_per_day: Annotated[int, Field(strict=True, ge=1, le=100)] = Field(
        description="More reviews of one worker than this within 24 hours: flag 'burst'"
    )
    outlier_gap: Threshold = Field(
        description="A review this far from the mean of the worker's other counted reviews "
        "(at least two): flag 'outlier'"
    )


class StarPolicyRules(BaseModel):
    """A complete star policy. Weights must weigh all three sources and sum to 1."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[Source, Weight] = Field(
        description="Weight of each source: employer reviews, company evaluation, self"
    )
    thresholds: list[StarThreshold] = Field(
        min_length=4, max_length=4, description="Minimum scores for 5, 4, 3 and 2 stars"
    )
    absent_sources: AbsentRule = Field(
        description="'redistribute': an absent source's weight goes to the present ones in "
        "proportion to theirs; 'zero': an absent source counts as 0 at its full weight"
    )
    min_reviews: Annotated[int, Field(strict=True, ge=0, le=100)] = Field(
        description="Fewer counted scores than this from others (employer reviews and company "
        "evaluation) cap the stars at capped_max_stars"
    )
    capped_max_stars: Stars
    review_window_days: Days = Field(
        description="Days after an engagement finished during which its employer may review"
    )
    appeal_window_days: Days = Field(description="Days after a publication to appeal it")
    appeal_decision_days: Days = Field(description="Days an officer has to decide an appeal")
    abuse: AbuseRules

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if set(self.weights) != set(SOURCES):
            raise ValueError("weights must name employer, company and self")
        if sum(self.weights.values()) != 1:
            raise ValueError("weights must sum to 1")
        stars = [t.stars for t in self.thresholds]
        scores = [t.min_score for t in self.thresholds]
        if (
            stars != [5, 4, 3, 2]
            or scores != sorted(scores, reverse=True)
            or len(set(scores)) != len(scores)
        ):
            raise ValueError("thresholds: 5, 4, 3, 2 stars, with strictly falling scores")
        return self

    def stored(self) -> dict[str, Any]:
        """JSON for the database: decimals as strings, so nothing passes through a float."""
        return self.model_dump(mode="json") | {
            "weights": {s: str(w) for s, w in self.weights.items()},
            "thresholds": [
                {"min_score": str(t.min_score), "stars": t.stars} for t in self.thresholds
            ],
            "abuse": {
                k: (str(v) if isinstance(v, Decimal) else v)
                for k, v in self.abuse.model_dump().items()
            },
        }


class StarPolicyOut(BaseModel):
    version: int
    rules: StarPolicyRules
    published_at: datetime
    note: str | None


class StarPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: StarPolicyRules
    note: str | None = Field(default=None, max_length=500)
