"""Rating tables: known workers and their employment (read models of the registry), scores,
and yearly levels."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.types import UtcDateTime


class Base(DeclarativeBase):
    pass


class KnownWorker(Base):
    """Workers the registry announced; only they can be rated. Rebuilt by replaying events."""

    __tablename__ = "known_workers"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: When this service learned of the worker (diagnoses event lag).
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkerEmployment(Base):
    """Each worker's current company, as the registry last told us: who may rate as "company".

    Kept apart from :class:`KnownWorker` so an employment event arriving before the worker's
    registration never makes an unregistered worker ratable.
    """

    __tablename__ = "worker_employment"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: None: independent (or left their company).
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    #: Time of the registry event that set this; an older event arriving late is ignored.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Score(Base):
    """One rater's score of a worker for a year and source; re-rating replaces it in place."""

    __tablename__ = "scores"
    __table_args__ = (
        # One score per rater; its leading (worker_id, year) also serves the level recompute.
        # The source is derived from the rater's role (an account has one role), so this is
        # one score per (rater, worker, year).
        UniqueConstraint("worker_id", "year", "source", "rater_id", name="uq_scores_rater"),
        Index("ix_scores_rater_id", "rater_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # No foreign key to known_workers: that read model may be rebuilt by replaying events.
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    rater_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: 0..10000; integer hundredths are exact on every backend (see scoring.py).
    score_hundredths: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WorkerLevel(Base):
    """The computed level of a worker for a year, kept in step with its scores."""

    __tablename__ = "worker_levels"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    stars: Mapped[int] = mapped_column(Integer)
    score_hundredths: Mapped[int] = mapped_column(Integer)
    #: Snapshot ``{source: {"count": n, "mean": x}}`` computed with the stars.
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Grows on every recompute; the ETag of the rating read.
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
