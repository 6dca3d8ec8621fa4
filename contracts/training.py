"""Events produced by the training service."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.common import AggregateEvent, Id, Name, Track

#: Pre-job, refresher or entrepreneurship training, or a new-style enterprise apprenticeship.
TrainingType = Literal["pre_job", "refresher", "entrepreneurship", "apprenticeship"]


class EnrollmentCompleted(AggregateEvent):
    """A worker finished a course, passed or not. Credit issues certificates from this."""

    event_type = "jiasao.training.enrollment.completed.v1"
    subject = "training.enrollment.completed"
    producer = "training"
    aggregate_field = "enrollment_id"

    enrollment_id: Id = Field(description="Id of the enrollment")
    worker_id: Id = Field(description="Worker who took the course")
    course_id: Id = Field(description="Id of the course")
    course_title: Name = Field(description="Course title at completion time")
    track: Track = Field(description="Track the course belongs to")
    training_type: TrainingType = Field(description="Kind of training")
    hours: float = Field(ge=0, description="Hours of training attended")
    score: float = Field(ge=0, le=100, description="Final assessment score, 0 to 100")
    passed: bool = Field(description="Whether the worker passed the assessment")
    completed_at: AwareDatetime = Field(description="When the enrollment was completed")
    rules_version: int | None = Field(
        default=None,
        ge=1,
        description="Version of the course's completion rules that decided passed (added, "
        "optional)",
    )
    theory_score: float | None = Field(
        default=None, ge=0, le=100, description="Best theory exam score, if sat (added, optional)"
    )
    practical_score: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Best practical exam score, if sat (added, optional)",
    )


class CompetitionAwarded(AggregateEvent):
    """A skill competition's winner was awarded the 肇庆市技术能手 (city technical expert) title.

    Credit issues the certificate (and its credential) and a positive record from this.
    """

    event_type = "jiasao.training.competition.awarded.v1"
    subject = "training.competition.awarded"
    producer = "training"
    aggregate_field = "award_id"

    award_id: Id = Field(description="Id of the award (one per winner and competition)")
    competition_id: Id = Field(description="Id of the competition")
    competition_title: Name = Field(description="Competition title at award time")
    worker_id: Id = Field(description="The winner")
    track: Track = Field(description="Track of the competition")
    rank: int = Field(ge=1, description="Final rank, 1 for first place")
    total_score: float = Field(ge=0, description="Sum of the winner's judged scores")
    title: Literal["technical_expert"] = Field(
        description="Title awarded: technical_expert is 肇庆市技术能手"
    )
    policy_version: int = Field(ge=1, description="Competition policy version that set winners")
    awarded_at: AwareDatetime = Field(description="When the award was made")
