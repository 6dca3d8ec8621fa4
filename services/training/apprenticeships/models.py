"""Apprenticeship tables: policy versions, known ratings, apprenticeships, monthly progress."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.training.models import Base


class ApprenticeshipPolicy(Base):
    """One version of the apprenticeship policy (DESIGN §7): the stars a mentor needs (a
    技术能手 qualifies whatever the stars)."""

    __tablename__ = "apprenticeship_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_min_stars: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KnownRating(Base):
    """Each worker's latest star rating, from rating's WorkerRatingChanged events."""

    __tablename__ = "known_ratings"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    stars: Mapped[int] = mapped_column(Integer)
    #: ``changed_at`` of the rating change this row reflects; older events are ignored.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)


class Apprenticeship(Base):
    __tablename__ = "apprenticeships"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    course_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    mentor_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    apprentice_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    #: Why the mentor qualified: "stars" or "technical_expert".
    mentor_basis: Mapped[str] = mapped_column(String(20))
    mentor_stars: Mapped[int | None] = mapped_column(Integer, nullable=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApprenticeshipProgress(Base):
    """The month's progress record; recording the month again replaces it."""

    __tablename__ = "apprenticeship_progress"

    apprenticeship_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("apprenticeships.id"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    hours: Mapped[float] = mapped_column(Float)
    assessment: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
