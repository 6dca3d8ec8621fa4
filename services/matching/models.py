"""Matching tables: a read model of candidates, fed only by other services' events.

A candidate row may exist before its registration arrives (a certificate or rating came
first): such a *placeholder* has ``name`` null and is hidden from every read until the
registry's event fills it in. Each source of data keeps its own timestamp so an older event
arriving late cannot overwrite newer state.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Uuid
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
