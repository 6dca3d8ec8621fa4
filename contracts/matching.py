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


class JobChanged(AggregateEvent):
    """A job was posted, changed, or changed status (paused, filled, closed, expired …);
    carries the job as advertised, never who posted it. Feeds the ``jobs`` change feed that
    agencies (the public employment service platforms) read."""

    event_type = "jiasao.matching.job.changed.v1"
    subject = "matching.job.changed"
    producer = "matching"
    aggregate_field = "job_id"

    job_id: Id = Field(description="Id of the job")
    title: str = Field(min_length=1, max_length=200, description="Title")
    track: Track = Field(description="Track of the job")
    duties: list[str] = Field(description="Duties")
    city: str = Field(min_length=1, max_length=20, description="City of the job")
    district: str | None = Field(max_length=64, description="District, if given")
    live_in: bool = Field(description="Live-in job")
    schedule: str = Field(max_length=200, description="Working schedule")
    pay_min: int = Field(description="Lowest pay")
    pay_max: int = Field(description="Highest pay")
    pay_period: str = Field(max_length=10, description="Pay period (month, day, hour)")
    languages: list[str] = Field(description="Languages asked for")
    certificate_required: bool = Field(description="A valid certificate is required")
    min_stars: int | None = Field(description="Lowest rating asked for; null = any")
    positions: int = Field(ge=1, description="Number of positions")
    start_date: date = Field(description="First day of work")
    expires_at: AwareDatetime | None = Field(description="When the posting expires; null = never")
    status: str = Field(
        min_length=1, max_length=10, description="open, paused, filled, closed or expired"
    )
    version: int = Field(ge=1, description="The job's version after the change")
    changed_at: AwareDatetime = Field(description="When it changed")
