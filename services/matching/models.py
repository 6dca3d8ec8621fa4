"""Matching tables: a read model of candidates, fed only by other services' events.

A candidate row may exist before its registration arrives (a certificate or rating came
first): such a *placeholder* has ``name`` null and is hidden from every read until the
registry's event fills it in. Each source of data keeps its own timestamp so an older event
arriving late cannot overwrite newer state.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.types import UtcDateTime


class Base(DeclarativeBase):
    pass


class Candidate(Base):
    __tablename__ = "candidates"

    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Null while this is a placeholder (no registration or profile seen yet).
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    county: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    stars: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    rating_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Producer time of the profile applied (registered_at or updated_at); older ones lose.
    profile_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Producer time of the rating applied; with rating_year, orders rating events.
    rating_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Producer time of the status applied (registration, update or status change).
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Languages and dialects spoken (registry profile).
    languages: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # --- Credit standing: the bounded hook for credit's level / list / card events. Nothing
    # sets these yet; services.matching.service.apply_credit_standing is the one writer.
    # Each field has its own producer time: the three come from different events (level,
    # card, list), so a newer card event must not make a level event look stale.
    #: Credit level as credit publishes it (e.g. "A".."D"); null = unknown.
    credit_level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    credit_level_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Card colour ("green", "yellow", "red"); red is a hard filter.
    card_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    card_status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: Public list the worker is on ("red" honour list, "black" list); black is a hard filter.
    list_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    list_status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # --- Matching's own facts about the worker.
    #: Engagements hired or started and not yet finished: a worker with one is not available.
    open_engagements: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Finished engagements: the experience factor of the score.
    finished_engagements: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The worker's own preferences (PUT /candidates/{id}/preferences); null = none stated.
    preferred_cities: Mapped[list[str] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True
    )
    expected_pay_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    accepts_live_in: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: Grows with every applied change; the ETag of the candidate read.
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeclaredTrack(Base):
    """The tracks a worker declared in the registry, one row each so reads filter by index."""

    __tablename__ = "candidate_declared_tracks"
    __table_args__ = (Index("ix_candidate_declared_tracks_track", "track", "worker_id"),)

    worker_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("candidates.worker_id", ondelete="CASCADE"), primary_key=True
    )
    track: Mapped[str] = mapped_column(String(20), primary_key=True)


class CandidateCertificate(Base):
    __tablename__ = "candidate_certificates"
    __table_args__ = (Index("ix_candidate_certificates_track", "track", "worker_id"),)

    certificate_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("candidates.worker_id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    track: Mapped[str | None] = mapped_column(String(20), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Last day of validity; null = no expiry.
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CandidateConsent(Base):
    """A worker's consent to share their data with a recipient (registry.consent.changed)."""

    __tablename__ = "candidate_consents"
    __table_args__ = (Index("ix_candidate_consents_lookup", "recipient", "worker_id"),)

    consent_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    scope: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128))
    granted: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrackRank(Base):
    """The precomputed per-track ordering: a candidate's job-independent score in one track.

    ``base_score`` (hundredths of a point) is an upper bound of the job-independent part of
    the match score under ``policy_version`` (a certificate that expired since is still
    counted; the exact score is recomputed for the rows read). Matching walks this index from
    the top and stops when no unread row can still beat the results (see ranking.py), so a
    match never scans the pool. ``eligible`` folds in the worker-level hard filters.
    """

    __tablename__ = "candidate_track_ranks"
    __table_args__ = (
        Index("ix_candidate_track_ranks_order", "track", "eligible", "base_score", "worker_id"),
    )

    worker_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("candidates.worker_id", ondelete="CASCADE"), primary_key=True
    )
    track: Mapped[str] = mapped_column(String(20), primary_key=True)
    base_score: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[bool] = mapped_column(Boolean)
    policy_version: Mapped[int] = mapped_column(Integer)


class MatchingPolicy(Base):
    """Versioned programme policy for the match score (DESIGN §7); the newest version rules."""

    __tablename__ = "matching_policies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    weights: Mapped[dict[str, object]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
