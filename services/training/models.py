"""Training tables: courses, enrolments, and the read model of workers the registry announced."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.types import UtcDateTime

#: Enrollment life cycle; a result may be (re)recorded only while ``enrolled``. A worker beyond
#: the course's capacity is ``waiting`` and moves up when a seat frees; ``withdrawn`` left.
ENROLLED = "enrolled"
COMPLETED = "completed"
WAITING = "waiting"
WITHDRAWN = "withdrawn"
#: Statuses that hold the worker's place in a course (at most one per worker and course).
OPEN_STATUSES = (ENROLLED, WAITING)


#: Named constraints, so later migrations (batch mode on SQLite) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    track: Mapped[str] = mapped_column(String(20), index=True)
    training_type: Mapped[str] = mapped_column(String(20))
    hours: Mapped[float] = mapped_column(Float)
    pass_score: Mapped[float] = mapped_column(Float, default=60)
    institution_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    #: Seats; None is unlimited. Workers beyond it wait.
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fee: Mapped[float] = mapped_column(Float, default=0, server_default="0")
    #: Whether workers of a target group named by the subsidy policy train free of tuition.
    free_for_target_groups: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    curriculum_origin: Mapped[str] = mapped_column(
        String(20), default="local", server_default="local"
    )
    county: Mapped[str | None] = mapped_column(String(20), nullable=True)
    language: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: Whether the registry announced the institution as approved for the course's track
    #: (set at creation and when the institution's registration arrives later).
    provider_verified: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    #: Version of the completion rules in force (see :class:`CompletionRule`).
    rules_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CompletionRule(Base):
    """One version of a course's completion rules: programme policy stored as data (DESIGN §7).

    Versions are never changed, only added; each completion and exam records the version used.
    """

    __tablename__ = "completion_rules"

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Share of the course's hours to attend, 0-1.
    min_attendance_share: Mapped[float] = mapped_column(Float)
    theory_pass_score: Mapped[float] = mapped_column(Float)
    #: None: the course has no practical exam.
    practical_pass_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Resits allowed per exam part after a failed first attempt.
    max_resits: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CourseSession(Base):
    """A scheduled class session of a course: a day, its hours, a venue or online."""

    __tablename__ = "course_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float)
    venue: Mapped[str | None] = mapped_column(String(200), nullable=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Attendance(Base):
    """Whether an enrolled worker attended one session (re-recording replaces the mark)."""

    __tablename__ = "attendance"

    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("course_sessions.id"), primary_key=True
    )
    present: Mapped[bool] = mapped_column(Boolean)
    hours: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ExamAttempt(Base):
    """One sitting of the theory or practical exam; attempt 1 is the first, later ones resits."""

    __tablename__ = "exam_attempts"
    __table_args__ = (UniqueConstraint("enrollment_id", "part", "attempt"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), index=True)
    part: Mapped[str] = mapped_column(String(12))
    attempt: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    rules_version: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    taken_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        # At most one open enrolment per worker and course; completed ones may be retaken.
        # A partial unique index guards the race the service's own check cannot.
        Index(
            "uq_enrollments_open",
            "worker_id",
            "course_id",
            unique=True,
            sqlite_where=text("status IN ('enrolled', 'waiting')"),
            postgresql_where=text("status IN ('enrolled', 'waiting')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id"), index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(12), default=ENROLLED, index=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    hours_attended: Mapped[float | None] = mapped_column(Float, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: Tuition the worker owes; 0 when waived for a target group.
    fee_due: Mapped[float] = mapped_column(Float, default=0, server_default="0")
    fee_waived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    #: Completion-rule version that decided ``passed``.
    rules_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    theory_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    practical_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    result_recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KnownWorker(Base):
    """Workers the registry announced: enough to accept enrolments without calling it."""

    __tablename__ = "known_workers"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county: Mapped[str] = mapped_column(String(20))
    #: Employment-support target groups (poverty_alleviation, 4050, ...), from the registry.
    target_groups: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: Registry life-cycle status (registered, verified, active, suspended, left); None until
    #: known. Suspended workers and workers who left may not enrol.
    status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    #: Registry time of the status this row reflects (its own clock: status changes arrive on
    #: their own consumer, so they are ordered apart from profile updates).
    status_as_of: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Timestamp of the registry state this row reflects; older events are ignored.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KnownEmployment(Base):
    """Each worker's current company, from the registry's EmploymentChanged events.

    Kept apart from :class:`KnownWorker` so an employment change that arrives before the
    registration needs no placeholder worker (which would make the worker enrollable).
    Company staff may read the enrolments of the workers whose row names their company.
    """

    __tablename__ = "known_employments"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: None once the worker has left their company.
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    #: ``changed_at`` of the registry change this row reflects; older events are ignored.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KnownInstitution(Base):
    """Training institutions the registry announced, with the tracks they are approved for."""

    __tablename__ = "known_institutions"

    institution_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(40))
    tracks: Mapped[list[str]] = mapped_column(JSON)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)


class KnownCertificate(Base):
    """Certificates credit issued to workers (training, home-service, 技术能手), from
    ``credit.certificate.issued``: the skills record lists them beside the training that
    earned them."""

    __tablename__ = "known_certificates"

    certificate_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    track: Mapped[str | None] = mapped_column(String(20), nullable=True)
    course_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
