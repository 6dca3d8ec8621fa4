"""Entrepreneurship tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.training.models import Base

#: Project stages, in order.
STAGES = ("idea", "prototype", "registered", "operating")


class VenturePolicy(Base):
    """One version of the start-up support policy (DESIGN §7)."""

    __tablename__ = "venture_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    startup_subsidy_amount: Mapped[float] = mapped_column(Float)
    #: Lowest project stage that may claim the start-up subsidy.
    subsidy_min_stage: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Venture(Base):
    __tablename__ = "ventures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    name: Mapped[str] = mapped_column(String(200))
    idea: Mapped[str] = mapped_column(String(2000))
    stage: Mapped[str] = mapped_column(String(20))
    county: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class GuidanceSession(Base):
    __tablename__ = "venture_guidance"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    venture_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ventures.id"), index=True)
    mentor_name: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(String(2000))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FinancingRequest(Base):
    """A request to be matched with a bank or fund; officers move its status."""

    __tablename__ = "venture_financing"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    venture_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ventures.id"), index=True)
    lender_kind: Mapped[str] = mapped_column(String(10))
    lender_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Referral(Base):
    """项目推介: an officer refers the project to an incubator, a training base or an
    investor; the receiver's answer (accepted or declined) is recorded on it."""

    __tablename__ = "venture_referrals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    venture_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ventures.id"), index=True)
    to_kind: Mapped[str] = mapped_column(String(20))
    to_name: Mapped[str] = mapped_column(String(200))
    #: The training base referred to, when ``to_kind`` is ``training_base``.
    base_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    referred_by: Mapped[str] = mapped_column(String(64))
    referred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class StartupSubsidyClaim(Base):
    """At most one per project (unique), reviewed by an officer and paid once."""

    __tablename__ = "venture_subsidy_claims"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    venture_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ventures.id"), unique=True)
    amount: Mapped[float] = mapped_column(Float)
    policy_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    payment_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)


class ContestEntry(Base):
    """A 众创杯 entry for one contest year, and its result once judged."""

    __tablename__ = "venture_contest_entries"
    __table_args__ = (UniqueConstraint("venture_id", "contest_year"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    venture_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ventures.id"), index=True)
    contest_year: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(12))
    award: Mapped[str | None] = mapped_column(String(200), nullable=True)
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    judged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
