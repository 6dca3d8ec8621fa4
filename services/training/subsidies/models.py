"""Subsidy tables: policy versions and claims (one per completion, paid at most once)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.training.models import Base

#: Claim life cycle: filed → approved → paid, or filed → rejected.
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
PAID = "paid"


class SubsidyPolicy(Base):
    """One version of the training-subsidy policy (DESIGN §7): amounts per training type and
    the target groups whose passed completions earn one. Versions are only ever added."""

    __tablename__ = "subsidy_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Yuan per passed completion, by training type; a type left out earns nothing.
    amounts: Mapped[dict[str, float]] = mapped_column(JSON)
    #: Target groups that qualify; empty: every worker who passes.
    eligible_groups: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SubsidyClaim(Base):
    """A claim for one passed completion. The unique enrolment makes a second claim for the
    same completion impossible; paying moves ``approved`` to ``paid`` under a row lock."""

    __tablename__ = "subsidy_claims"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    institution_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    training_type: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    policy_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    payment_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    paid_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
