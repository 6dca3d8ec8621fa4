"""Reads of the candidate read model: ranking for a track, and assembling candidates.

A worker is a candidate for a track when they declared it or hold a valid certificate in it
("valid" = no expiry date, or the expiry date is today or later, in China time). Placeholders
(name unknown yet) are never shown. The order: stars descending (unrated last), then holders
of a valid certificate in the track first, then more valid certificates first, then worker id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.cursor import SortKey
from services.matching.models import Candidate, CandidateCertificate, DeclaredTrack

#: Zhaoqing time (no daylight saving): certificates expire at the end of their local last day.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def today_in_china() -> date:
    return datetime.now(UTC).astimezone(CHINA_TZ).date()


@dataclass(frozen=True)
class CandidateView:
    candidate: Candidate
    declared_tracks: list[str]
    certificates: list[CandidateCertificate] = field(default_factory=list)

    def valid_certificates(self, as_of: date) -> list[CandidateCertificate]:
        return [c for c in self.certificates if is_valid(c, as_of)]

    def tracks(self, as_of: date) -> set[str]:
        """Declared tracks and the tracks of valid certificates."""
        certified = {c.track for c in self.valid_certificates(as_of) if c.track is not None}
        return set(self.declared_tracks) | certified


def is_valid(certificate: CandidateCertificate, as_of: date) -> bool:
    return certificate.valid_until is None or certificate.valid_until >= as_of


def _valid_on(as_of: date) -> ColumnElement[bool]:
    return or_(
        CandidateCertificate.valid_until.is_(None), CandidateCertificate.valid_until >= as_of
    )


def _after(ranked: Any, key: SortKey) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the order (desc, desc, desc, asc), as a keyset filter."""
    stars, certified, count, worker_id = (
        ranked.c.stars_key,
        ranked.c.certified,
        ranked.c.valid_certificates,
        ranked.c.worker_id,
    )
    return or_(
        stars < key.stars,
        and_(stars == key.stars, certified < key.certified),
        and_(stars == key.stars, certified == key.certified, count < key.valid_certificates),
        and_(
            stars == key.stars,
            certified == key.certified,
            count == key.valid_certificates,
            worker_id > key.worker_id,
        ),
    )


async def rank(
    session: AsyncSession,
    track: str,
    *,
    as_of: date,
    county: str | None = None,
    min_stars: int | None = None,
    after: SortKey | None = None,
    limit: int,
) -> list[SortKey]:
    """Sort keys of up to ``limit`` candidates for ``track``, in order, after ``after``."""
    valid = _valid_on(as_of)
    certified = exists().where(
        CandidateCertificate.worker_id == Candidate.worker_id,
        CandidateCertificate.track == track,
        valid,
    )
    declared = exists().where(
        DeclaredTrack.worker_id == Candidate.worker_id, DeclaredTrack.track == track
    )
    valid_count = (
        select(func.count())
        .select_from(CandidateCertificate)
        .where(CandidateCertificate.worker_id == Candidate.worker_id, valid)
        .scalar_subquery()
    )
    inner = select(
        Candidate.worker_id,
        func.coalesce(Candidate.stars, 0).label("stars_key"),
        case((certified, 1), else_=0).label("certified"),
        valid_count.label("valid_certificates"),
    ).where(Candidate.name.is_not(None), or_(declared, certified))
    if county is not None:
        inner = inner.where(Candidate.county == county)
    if min_stars is not None:
        inner = inner.where(Candidate.stars >= min_stars)
    ranked = inner.subquery("ranked")
    query = (
        select(ranked)
        .order_by(
            ranked.c.stars_key.desc(),
            ranked.c.certified.desc(),
            ranked.c.valid_certificates.desc(),
            ranked.c.worker_id.asc(),
        )
        .limit(limit)
    )
    if after is not None:
        query = query.where(_after(ranked, after))
    rows = (await session.execute(query)).all()
    return [
        SortKey(
            stars=int(row.stars_key),
            certified=int(row.certified),
            valid_certificates=int(row.valid_certificates),
            worker_id=row.worker_id,
        )
        for row in rows
    ]


async def load_views(
    session: AsyncSession, worker_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CandidateView]:
    """The named (non-placeholder) candidates among ``worker_ids``, with tracks and certificates."""
    if not worker_ids:
        return {}
    candidates = (
        await session.scalars(
            select(Candidate).where(
                Candidate.worker_id.in_(worker_ids), Candidate.name.is_not(None)
            )
        )
    ).all()
    ids = [c.worker_id for c in candidates]
    declared: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for row in await session.execute(
        select(DeclaredTrack.worker_id, DeclaredTrack.track).where(DeclaredTrack.worker_id.in_(ids))
    ):
        declared[row.worker_id].append(row.track)
    certificates: dict[uuid.UUID, list[CandidateCertificate]] = {i: [] for i in ids}
    for certificate in await session.scalars(
        select(CandidateCertificate)
        .where(CandidateCertificate.worker_id.in_(ids))
        .order_by(CandidateCertificate.issued_at, CandidateCertificate.number)
    ):
        certificates[certificate.worker_id].append(certificate)
    return {
        c.worker_id: CandidateView(c, declared[c.worker_id], certificates[c.worker_id])
        for c in candidates
    }


async def get_view(session: AsyncSession, worker_id: uuid.UUID) -> CandidateView | None:
    return (await load_views(session, [worker_id])).get(worker_id)
