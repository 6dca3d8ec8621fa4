"""Events produced by the matching service (jobs, applications, engagements)."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from contracts.common import AggregateEvent, Id, Track


class _EngagementEvent(AggregateEvent):
    """What every engagement event carries: who worked for whom, on which job."""

    producer = "matching"
    aggregate_field = "engagement_id"

    engagement_id: Id = Field(description="Id of the engagement")
    job_id: Id = Field(description="Job the engagement fills")
    worker_id: Id = Field(description="Worker engaged")
    employer_id: Id | None = Field(
        description="Employer household the worker serves (a partner platform may name one); "
        "null when a company posted, or a partner named none"
    )
    company_id: Id | None = Field(description="Company placing the worker, if any")
    poster_account_id: str = Field(
        min_length=1, max_length=64, description="Account id (token subject) of the job's poster"
    )
    track: Track = Field(description="Track of the job")
    start_date: date = Field(description="First day of the engagement")


class EngagementStarted(_EngagementEvent):
    """An accepted offer became an engagement that has started."""

    event_type = "jiasao.matching.engagement.started.v1"
    subject = "matching.engagement.started"

    started_at: AwareDatetime = Field(description="When the engagement started")


class EngagementFinished(_EngagementEvent):
    """An engagement finished; the employer may now review the worker."""

    event_type = "jiasao.matching.engagement.finished.v1"
    subject = "matching.engagement.finished"

    end_date: date = Field(description="Last day of the engagement")
    finished_at: AwareDatetime = Field(description="When the engagement was marked finished")
