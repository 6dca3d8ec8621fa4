"""Matching domain operations: apply upstream facts to the candidate read model.

Each runs inside the caller's write transaction (the inbox's, for events) and is idempotent:
applying the same fact twice leaves the same state. Events of different aggregates arrive in
any order, so a certificate or rating may create a placeholder candidate that the worker's
registration fills in later; producer timestamps decide between old and new facts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.types import utcnow
from services.matching.models import Candidate, CandidateCertificate, DeclaredTrack


async def ensure_candidate(session: AsyncSession, worker_id: uuid.UUID) -> Candidate:
    """The worker's candidate row, locked; a placeholder is created if there is none.

    INSERT … ON CONFLICT DO NOTHING lets two consumers racing to create the same placeholder
    both succeed; the row lock then serialises them on PostgreSQL.
    """
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert_fn(Candidate)
        .values(worker_id=worker_id, version=0, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Candidate.worker_id])
    )
    candidate = await session.scalar(
        select(Candidate)
        .where(Candidate.worker_id == worker_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert candidate is not None  # inserted or already there, and we hold its lock
    return candidate


def _touch(candidate: Candidate) -> None:
    candidate.version += 1
    candidate.updated_at = utcnow()


async def _set_profile(
    session: AsyncSession,
    candidate: Candidate,
    *,
    name: str,
    county: str,
    tracks: Sequence[str],
    changed_at: datetime,
) -> None:
    candidate.name = name
    candidate.county = county
    candidate.profile_changed_at = changed_at
    await session.execute(
        delete(DeclaredTrack).where(DeclaredTrack.worker_id == candidate.worker_id)
    )
    if tracks:
        await session.execute(
            insert(DeclaredTrack),
            [{"worker_id": candidate.worker_id, "track": track} for track in sorted(set(tracks))],
        )


async def apply_registration(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    name: str,
    county: str,
    tracks: Sequence[str],
    status: str,
    registered_at: datetime,
) -> None:
    candidate = await ensure_candidate(session, worker_id)
    changed = False
    if candidate.registered_at is None:
        # Registration happens once; its status is the starting point of the life cycle.
        candidate.registered_at = registered_at
        candidate.status = candidate.status or status
        changed = True
    # A profile update may have overtaken the registration; it is newer, so it stays.
    if candidate.profile_changed_at is None or registered_at > candidate.profile_changed_at:
        await _set_profile(
            session, candidate, name=name, county=county, tracks=tracks, changed_at=registered_at
        )
        changed = True
    if changed:
        _touch(candidate)


async def apply_profile_update(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    name: str,
    county: str,
    tracks: Sequence[str],
    updated_at: datetime,
) -> bool:
    """Apply a whole-profile update unless a newer one is stored; True when applied."""
    candidate = await ensure_candidate(session, worker_id)
    if candidate.profile_changed_at is not None and updated_at < candidate.profile_changed_at:
        return False
    await _set_profile(
        session, candidate, name=name, county=county, tracks=tracks, changed_at=updated_at
    )
    _touch(candidate)
    return True


async def add_certificate(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    certificate_id: uuid.UUID,
    number: str,
    kind: str,
    track: str | None,
    issued_at: datetime,
    valid_until: date | None,
) -> bool:
    """Record an issued certificate; False if it is already known (issuing is a one-off)."""
    candidate = await ensure_candidate(session, worker_id)
    if await session.get(CandidateCertificate, certificate_id) is not None:
        return False
    session.add(
        CandidateCertificate(
            certificate_id=certificate_id,
            worker_id=worker_id,
            number=number,
            kind=kind,
            track=track,
            issued_at=issued_at,
            valid_until=valid_until,
            recorded_at=utcnow(),
        )
    )
    _touch(candidate)
    return True


async def apply_rating(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    year: int,
    stars: int,
    changed_at: datetime,
) -> bool:
    """Take a rating unless the stored one is newer; True if taken.

    Newer means a later rating year first, then a later change: a late correction of last
    year's assessment must not replace this year's stars.
    """
    candidate = await ensure_candidate(session, worker_id)
    if candidate.rating_changed_at is not None and candidate.rating_year is not None:
        if (year, changed_at) < (candidate.rating_year, candidate.rating_changed_at):
            return False
    candidate.stars = stars
    candidate.rating_year = year
    candidate.rating_changed_at = changed_at
    _touch(candidate)
    return True
