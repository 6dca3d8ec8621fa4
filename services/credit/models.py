"""Credit tables: certificates, their number counters, training completions, known workers."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, Integer, MetaData, PrimaryKeyConstraint, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.types import UtcDateTime

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


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Public number people read and verify, e.g. ZQJS-2026-000123.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: ``training`` now; ``home_service`` (家政服务员证) later.
    kind: Mapped[str] = mapped_column(String(20), index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    track: Mapped[str | None] = mapped_column(String(20), nullable=True)
    course_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    course_title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    training_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: One certificate per completed enrolment, whatever path the event took to get here.
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Last day of validity (China Standard Time); null means no expiry.
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class NumberCounter(Base):
    """Last number handed out per series and year; incremented in the issuing transaction."""

    __tablename__ = "number_counters"
    __table_args__ = (PrimaryKeyConstraint("series", "year"),)

    series: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer, default=0)


class TrainingCompletion(Base):
    """Every completed enrolment training announced, passed or not.

    The log of a worker's training history (credit records will weigh it), and the guard that
    makes a completion take effect once even if it reaches us again under another event id.
    """

    __tablename__ = "training_completions"

    enrollment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    course_title: Mapped[str] = mapped_column(String(200))
    track: Mapped[str] = mapped_column(String(20))
    training_type: Mapped[str] = mapped_column(String(20))
    hours: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The certificate issued for it; null when not passed.
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditWorker(Base):
    """Workers the registry announced, for displaying certificates without calling it."""

    __tablename__ = "credit_workers"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Masked resident ID number as the registry published it; never the plaintext.
    id_card_masked: Mapped[str | None] = mapped_column(String(18), nullable=True)
    #: Timestamp of the registry state this row reflects; older events do not overwrite it.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
