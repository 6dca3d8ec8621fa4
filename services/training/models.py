"""Training tables: courses, enrolments, and the read model of workers the registry announced."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.types import UtcDateTime

#: Enrollment life cycle; a result may be (re)recorded only while ``enrolled``.
ENROLLED = "enrolled"
COMPLETED = "completed"


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
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


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
            sqlite_where=text("status = 'enrolled'"),
            postgresql_where=text("status = 'enrolled'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id"), index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(12), default=ENROLLED, index=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    hours_attended: Mapped[float | None] = mapped_column(Float, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
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
