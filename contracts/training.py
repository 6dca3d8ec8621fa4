"""Events produced by the training service."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.common import AggregateEvent, Id, Name, Track

#: Pre-job training, refresher training or entrepreneurship training.
TrainingType = Literal["pre_job", "refresher", "entrepreneurship"]


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
