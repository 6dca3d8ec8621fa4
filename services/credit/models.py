"""Credit tables: certificates, number counters, training completions, and read models of
workers, their employment and their consents, plus the log of who read a worker's data."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Uuid,
)
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
    #: Random check code printed on the certificate; verification needs number and code, so
    #: walking the sequential numbers reveals nothing. Not unique: lookups go by number.
    check_code: Mapped[str] = mapped_column(String(8))
    #: ``training``, or ``skill_title`` (肇庆市技术能手, see CompetitionAward).
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


class CompetitionAward(Base):
    """Every 技术能手 award training announced for a skill competition's winner.

    The log of a worker's titles, and the guard that makes an award take effect once even if
    it reaches us again under another event id.
    """

    __tablename__ = "competition_awards"

    award_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    competition_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    competition_title: Mapped[str] = mapped_column(String(200))
    track: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)
    total_score: Mapped[float] = mapped_column(Float)
    #: ``technical_expert`` (肇庆市技术能手).
    title: Mapped[str] = mapped_column(String(30))
    #: Training's competition policy version that set the winners.
    policy_version: Mapped[int] = mapped_column(Integer)
    awarded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The certificate issued for it.
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, unique=True)
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


class CreditEmployment(Base):
    """Each worker's current company, from the registry's EmploymentChanged events."""

    __tablename__ = "credit_employment"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Null while the worker is with no company.
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    #: The registry's time of the change this row reflects; older events do not overwrite it.
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditConsent(Base):
    """A worker's consent to share a scope of data with a recipient, from ConsentChanged."""

    __tablename__ = "credit_consents"
    __table_args__ = (Index("ix_credit_consents_worker_recipient", "worker_id", "recipient"),)

    consent_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    scope: Mapped[str] = mapped_column(String(64))
    #: A partner or employer id (as text), or the name of an agency.
    recipient: Mapped[str] = mapped_column(String(128))
    granted: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditAccessLog(Base):
    """One row per read of a worker's credit data by someone other than them or the staff.

    The worker lists it at GET /workers/{id}/credit/access-log.
    """

    __tablename__ = "credit_access_log"
    __table_args__ = (Index("ix_credit_access_log_worker", "worker_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reader_role: Mapped[str] = mapped_column(String(20))
    #: The company, employer or partner the reader acts for.
    reader_party_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: The reader's account (people) or client id (partner platforms).
    reader_subject: Mapped[str] = mapped_column(String(128))
    #: What was read: ``certificate`` (one, see certificate_id) or ``certificates`` (a page).
    resource: Mapped[str] = mapped_column(String(20))
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: How many certificates the answer carried.
    items: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(UtcDateTime)
