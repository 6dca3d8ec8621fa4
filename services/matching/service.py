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
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.dialect import dialect_insert
from services.kit.types import utcnow
from services.matching.models import (
    Candidate,
    CandidateCertificate,
    CandidateConsent,
    DeclaredTrack,
)
from services.matching.ranking import refresh_ranks


async def ensure_candidate(session: AsyncSession, worker_id: uuid.UUID) -> Candidate:
    """The worker's candidate row, locked; a placeholder is created if there is none.

    INSERT … ON CONFLICT DO NOTHING lets two consumers racing to create the same placeholder
    both succeed; the row lock then serialises them on PostgreSQL.
    """
    now = utcnow()
    await session.execute(
        dialect_insert(session, Candidate)
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


async def _touch(session: AsyncSession, candidate: Candidate) -> None:
    """Mark a change: a new version, and the candidate's place in the per-track ordering."""
    candidate.version += 1
    candidate.updated_at = utcnow()
    await session.flush()
    await refresh_ranks(session, candidate)


def _take_status(candidate: Candidate, status: str | None, changed_at: datetime) -> bool:
    """Apply a status unless a newer one is stored; True when applied."""
    if status is None:
        return False
    if candidate.status_changed_at is not None and changed_at < candidate.status_changed_at:
        return False
    candidate.status = status
    candidate.status_changed_at = changed_at
    return True


async def _set_profile(
    session: AsyncSession,
    candidate: Candidate,
    *,
    name: str,
    county: str,
    tracks: Sequence[str],
    languages: Sequence[str],
    changed_at: datetime,
) -> None:
    candidate.name = name
    candidate.county = county
    candidate.languages = sorted(set(languages))
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
    languages: Sequence[str] = (),
) -> None:
    candidate = await ensure_candidate(session, worker_id)
    changed = False
    if candidate.registered_at is None:
        # Registration happens once; its status is the starting point of the life cycle.
        candidate.registered_at = registered_at
        _take_status(candidate, status, registered_at)
        changed = True
    # A profile update may have overtaken the registration; it is newer, so it stays.
    if candidate.profile_changed_at is None or registered_at > candidate.profile_changed_at:
        await _set_profile(
            session,
            candidate,
            name=name,
            county=county,
            tracks=tracks,
            languages=languages,
            changed_at=registered_at,
        )
        changed = True
    if changed:
        await _touch(session, candidate)


async def apply_profile_update(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    name: str,
    county: str,
    tracks: Sequence[str],
    updated_at: datetime,
    languages: Sequence[str] = (),
    status: str | None = None,
) -> bool:
    """Apply a whole-profile update unless a newer one is stored; True when applied."""
    candidate = await ensure_candidate(session, worker_id)
    if candidate.profile_changed_at is not None and updated_at < candidate.profile_changed_at:
        return False
    await _set_profile(
        session,
        candidate,
        name=name,
        county=county,
        tracks=tracks,
        languages=languages,
        changed_at=updated_at,
    )
    _take_status(candidate, status, updated_at)
    await _touch(session, candidate)
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
    await _touch(session, candidate)
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
    await _touch(session, candidate)
    return True


async def apply_status(
    session: AsyncSession, worker_id: uuid.UUID, *, status: str, changed_at: datetime
) -> bool:
    """A registry status change (suspended and left workers drop out of every match)."""
    candidate = await ensure_candidate(session, worker_id)
    if not _take_status(candidate, status, changed_at):
        return False
    await _touch(session, candidate)
    return True


async def record_consent(
    session: AsyncSession,
    consent_id: uuid.UUID,
    *,
    worker_id: uuid.UUID,
    scope: str,
    recipient: str,
    granted: bool,
    expires_at: datetime | None,
    changed_at: datetime,
) -> bool:
    """Store a consent's state unless a newer change of it is stored; True when applied."""
    row = await session.get(CandidateConsent, consent_id, with_for_update=True)
    if row is None:
        session.add(
            CandidateConsent(
                consent_id=consent_id,
                worker_id=worker_id,
                scope=scope,
                recipient=recipient.lower(),
                granted=granted,
                expires_at=expires_at,
                changed_at=changed_at,
            )
        )
        return True
    if changed_at < row.changed_at:
        return False
    row.granted, row.expires_at, row.changed_at = granted, expires_at, changed_at
    return True


async def apply_credit_standing(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    changed_at: datetime,
    credit_level: str | None = None,
    card_status: str | None = None,
    list_status: str | None = None,
    list_ended: str | None = None,
) -> bool:
    """Credit's standing of a worker (from credit's level / card / list events, see
    handlers.py). Each given field replaces the stored one unless a newer value of that same
    field is stored (level, card and list each keep their own producer time: one event's time
    says nothing about another field's); None leaves a field as it is; ``list_ended`` clears
    the list status if it is that list. A red card or the black list (policy ``blocked_*``)
    drops the worker from every match. Returns whether anything was applied."""
    candidate = await ensure_candidate(session, worker_id)
    applied = take_standing(
        candidate,
        changed_at=changed_at,
        credit_level=credit_level,
        card_status=card_status,
        list_status=list_status,
        list_ended=list_ended,
    )
    if applied:
        await _touch(session, candidate)
    return applied


def take_standing(
    candidate: Candidate,
    *,
    changed_at: datetime,
    credit_level: str | None = None,
    card_status: str | None = None,
    list_status: str | None = None,
    list_ended: str | None = None,
) -> bool:
    """:func:`apply_credit_standing` on the loaded row, without touching it; True if applied."""

    def newer(stored: datetime | None) -> bool:
        return stored is None or changed_at >= stored

    applied = False
    if credit_level is not None and newer(candidate.credit_level_changed_at):
        candidate.credit_level = credit_level
        candidate.credit_level_changed_at = changed_at
        applied = True
    if card_status is not None and newer(candidate.card_status_changed_at):
        candidate.card_status = card_status
        candidate.card_status_changed_at = changed_at
        applied = True
    if (list_status is not None or list_ended is not None) and newer(
        candidate.list_status_changed_at
    ):
        if list_status is not None:
            candidate.list_status = list_status
        if list_ended is not None and candidate.list_status == list_ended:
            candidate.list_status = None
        candidate.list_status_changed_at = changed_at
        applied = True
    return applied


async def set_preferences(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    preferred_cities: list[str] | None,
    expected_pay_min: int | None,
    accepts_live_in: bool | None,
) -> Candidate:
    """The worker's own preferences (cities, minimum pay, live-in), used by the score."""
    candidate = await ensure_candidate(session, worker_id)
    candidate.preferred_cities = preferred_cities
    candidate.expected_pay_min = expected_pay_min
    candidate.accepts_live_in = accepts_live_in
    await _touch(session, candidate)
    return candidate


async def engagement_opened(session: AsyncSession, worker_id: uuid.UUID) -> None:
    """A hire: the worker is not available until the engagement ends."""
    candidate = await ensure_candidate(session, worker_id)
    candidate.open_engagements += 1
    await _touch(session, candidate)


async def engagement_closed(session: AsyncSession, worker_id: uuid.UUID, *, finished: bool) -> None:
    """An engagement finished (experience +1) or was cancelled."""
    candidate = await ensure_candidate(session, worker_id)
    candidate.open_engagements = max(0, candidate.open_engagements - 1)
    if finished:
        candidate.finished_engagements += 1
    await _touch(session, candidate)
