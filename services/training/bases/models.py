"""Training-base tables: benefit policy versions, bases and their residents."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.training.models import Base


class BaseBenefitPolicy(Base):
    """One version of the base policy (DESIGN §7): benefit periods for resident companies and
    the number of demonstration bases the programme aims for at each level."""

    __tablename__ = "base_benefit_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    rent_free_months: Mapped[int] = mapped_column(Integer)
    free_property_management_months: Mapped[int] = mapped_column(Integer)
    provincial_target: Mapped[int] = mapped_column(Integer)
    municipal_target: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrainingBase(Base):
    __tablename__ = "training_bases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(40), index=True)
    county: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300))
    capacity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BaseResident(Base):
    """A company (or its project) resident at a base, with the benefit periods granted to it
    under the policy version in force when it moved in."""

    __tablename__ = "base_residents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    base_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_bases.id"), index=True)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    project: Mapped[str] = mapped_column(String(200))
    moved_in_on: Mapped[date] = mapped_column(Date)
    rent_free_until: Mapped[date] = mapped_column(Date)
    property_management_free_until: Mapped[date] = mapped_column(Date)
    policy_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
