"""Rating tables: known workers, their employment and finished engagements (read models of the
registry and matching), scores (employer reviews, company and self evaluations), assessment
years, the published star policy, levels with their publication history, moderation and
appeals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, UniqueConstraint, Uuid
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


class WorkerCounty(Base):
    """The county each worker is registered in, from the registry's events (consumer
    ``rating-counties``), for the officers' statistics. Rebuilt by replaying events."""

    __tablename__ = "worker_counties"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    county: Mapped[str] = mapped_column(String(20), index=True)
    #: The registry time of the state kept; older events do not overwrite it.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)


class Score(Base):
    """One score of a worker for a year: an employer review, a company or self evaluation."""

    __tablename__ = "scores"
    __table_args__ = (
        # One score per slot and (worker, year); the leading (worker_id, year) also serves the
        # level recompute. The slot says what may count once: "engagement:<id>" for an
        # employer review, "company:<id>" for the company's evaluation, "self".
        UniqueConstraint("worker_id", "year", "slot", name="uq_scores_slot"),
        UniqueConstraint("engagement_id", name="uq_scores_engagement"),
        Index("ix_scores_rater_id", "rater_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # No foreign key to known_workers: that read model may be rebuilt by replaying events.
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    rater_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    slot: Mapped[str] = mapped_column(String(60))
    #: The rater's party: the company of a company evaluation.
    rater_party_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: 0..10000; integer hundredths are exact on every backend (see scoring.py).
    score_hundredths: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The finished engagement an employer review is for; one review per engagement.
    engagement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: Criteria scores (hundredths) the score is the mean of; None for a plain score.
    criteria: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    #: visible | flagged (awaits moderation, not counted) | kept | hidden (not counted).
    status: Mapped[str] = mapped_column(String(10), default="visible")
    #: Anti-abuse signals raised when the score arrived (moderation.py).
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The rated worker's one public reply.
    reply: Mapped[str | None] = mapped_column(String(500), nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


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
    #: True until the year closes: computed from the evidence so far, not yet published.
    provisional: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The star policy version that computed this level.
    policy_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Each weighed source's ``{source, count, mean, weight, points}``; points sum to the score.
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class FinishedEngagement(Base):
    """Engagements matching announced as finished: the only ground for an employer review."""

    __tablename__ = "finished_engagements"

    engagement_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    employer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: The account that posted the job: the one who may review.
    poster_account_id: Mapped[str] = mapped_column(String(64), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StarPolicyRow(Base):
    """One published version of the star policy; never changed once published."""

    __tablename__ = "star_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The rule (see scoring.StarPolicy) and the review and appeal periods.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Account id of the officer who published it ("migration" for version 1).
    published_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)


class AssessmentYear(Base):
    """An assessment year: open (evidence arrives, levels are provisional), then closed."""

    __tablename__ = "assessment_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10))  # open | closed
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The policy version the closing applied.
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: How many levels the closing published.
    published: Mapped[int] = mapped_column(Integer, default=0)


class LevelPublication(Base):
    """Every published (final) level, in order: the worker's history and the audit trail."""

    __tablename__ = "level_publications"
    __table_args__ = (Index("ix_level_publications_worker", "worker_id", "year"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    year: Mapped[int] = mapped_column(Integer)
    stars: Mapped[int] = mapped_column(Integer)
    score_hundredths: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    #: closing | appeal | moderation
    reason: Mapped[str] = mapped_column(String(12))
    appeal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ModerationAction(Base):
    """The log of moderation decisions on scores (by officers, or by an upheld appeal)."""

    __tablename__ = "moderation_actions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    score_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(10))  # hide | keep
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Appeal(Base):
    """A worker's appeal against a published level or against one score of their year."""

    __tablename__ = "appeals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    year: Mapped[int] = mapped_column(Integer)
    score_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    reason: Mapped[str] = mapped_column(String(1000))
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The officer's deadline (policy ``appeal_decision_days`` after filing).
    decide_by: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10))  # pending | upheld | rejected
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
