"""Competition tables: policy versions, competitions, entries, judges' scores and awards."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.kit.types import UtcDateTime
from services.training.models import Base

OPEN = "open"
FINISHED = "finished"


class CompetitionPolicy(Base):
    """One version of the award policy (DESIGN §7): how many top places are named 技术能手 and
    the lowest total that may win. A competition keeps the version in force when created."""

    __tablename__ = "competition_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    winners: Mapped[int] = mapped_column(Integer)
    min_total_score: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Competition(Base):
    __tablename__ = "competitions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    track: Mapped[str] = mapped_column(String(20), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    rounds: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CompetitionEntry(Base):
    """A worker's registration; total and rank are set when the competition finishes."""

    __tablename__ = "competition_entries"
    __table_args__ = (UniqueConstraint("competition_id", "worker_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    competition_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("competitions.id"), index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    total_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    awarded: Mapped[bool] = mapped_column(default=False)


class JudgeScore(Base):
    """One judge's score of one entry in one round; the judge re-scoring replaces it."""

    __tablename__ = "judge_scores"

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("competition_entries.id"), primary_key=True
    )
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    judge: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime)
