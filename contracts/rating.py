"""Events produced by the rating service (yearly star ratings of workers)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.common import AggregateEvent, Id


class WorkerRatingChanged(AggregateEvent):
    """A worker's star rating for a year was set or changed (provisionally, or published)."""

    event_type = "jiasao.rating.worker.changed.v1"
    subject = "rating.worker.changed"
    producer = "rating"
    aggregate_field = "worker_id"

    worker_id: Id = Field(description="Id of the worker")
    year: int = Field(ge=2000, le=2100, description="Rating year")
    stars: int = Field(ge=1, le=5, description="Star rating, 1 to 5")
    previous_stars: int | None = Field(
        ge=1, le=5, description="Stars before this change; null if first rating of the year"
    )
    score: float = Field(ge=0, le=100, description="Weighted score the stars derive from, 0-100")
    changed_at: AwareDatetime = Field(description="When the rating changed")
    # Added with the yearly assessment (issue 11); optional, so earlier events stay valid.
    provisional: bool = Field(
        default=False,
        description="True while the assessment year is open: a level from the evidence so far, "
        "not yet published; false for a level published by the year's closing or an appeal",
    )
    policy_version: int | None = Field(
        default=None, ge=1, description="Version of the star policy that computed the level"
    )
