"""Ranked matching: candidates for a job, and jobs for a worker, each with its reasons.

**Hard filters** leave a worker out entirely: the job's track (declared, or a valid
certificate in it), a valid certificate in the track where the job requires one, the job's
minimum stars, a registry status the policy excludes (suspended, left), a blocked card colour
(red) or list (black), an open engagement (not available), live-in refused, and — when the
poster is a partner platform — no valid consent from the worker to that partner.

**Score**: the sum of the policy's factor points (see policy.py); every result lists them.

**Scale**: ``candidate_track_ranks`` holds each candidate's job-independent points per track,
indexed (track, eligible, base_score, worker_id). A match walks that index from the top in
batches, filters in SQL, scores the batch exactly, and stops as soon as the k-th best score
beats the next unread base score plus the largest job-dependent bonus: no unread row can
still make the top k, so the result is exact without scanning the pool.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, delete, exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.dialect import per_dialect
from services.kit.one_of import one_of_param
from services.kit.types import utcnow
from services.matching import queries
from services.matching.models import (
    Candidate,
    CandidateCertificate,
    CandidateConsent,
    DeclaredTrack,
    TrackRank,
)
from services.matching.policy import (
    Policy,
    Reason,
    Weights,
    base_points,
    base_reasons,
    current_policy,
    hundredths,
    job_points,
    job_reasons,
    total,
)
from services.matching.recruitment.models import Job

#: Rows read per step of the walk down the per-track index.
BATCH = 300
#: A bound on one match's work, whatever the filters: never more rows than this are read.
MAX_ROWS = 20_000


def is_eligible(weights: Weights, candidate: Candidate) -> bool:
    """The worker-level hard filters (the job-level ones are applied per match)."""
    return (
        candidate.name is not None
        and candidate.status not in weights.excluded_worker_statuses
        and candidate.card_status not in weights.blocked_card_statuses
        and candidate.list_status not in weights.blocked_list_statuses
    )


async def refresh_ranks(
    session: AsyncSession, candidate: Candidate, policy: Policy | None = None
) -> None:
    """Recompute ``candidate``'s rows of the per-track ordering (call after any change)."""
    await refresh_ranks_many(session, [candidate], policy)


#: Built once, like the statements below.
_INSERT_RANKS = insert(TrackRank)


def declared_of(dialect: str) -> Any:
    """(worker id, track) of the tracks the workers ``:workers`` declared."""
    return select(DeclaredTrack.worker_id, DeclaredTrack.track).where(
        one_of_param(DeclaredTrack.worker_id, "workers", dialect)
    )


_declared_of = per_dialect(declared_of)


@per_dialect
def _certificates_of(dialect: str) -> Any:
    return select(CandidateCertificate).where(
        one_of_param(CandidateCertificate.worker_id, "workers", dialect)
    )


def delete_ranks_of(dialect: str) -> Any:
    """Delete the per-track ranks of the workers ``:workers``."""
    return delete(TrackRank).where(one_of_param(TrackRank.worker_id, "workers", dialect))


_delete_ranks_of = per_dialect(delete_ranks_of)


async def refresh_ranks_many(
    session: AsyncSession, candidates: Sequence[Candidate], policy: Policy | None = None
) -> None:
    """:func:`refresh_ranks` for many candidates with one statement of each kind."""
    if not candidates:
        return
    policy = policy or await current_policy(session)
    ids = [candidate.worker_id for candidate in candidates]
    workers = {"workers": ids}
    declared = (await session.execute(_declared_of(session), workers)).all()
    certificates = (await session.scalars(_certificates_of(session), workers)).all()
    await session.execute(_delete_ranks_of(session), workers)
    rows = rank_rows(policy, candidates, declared, certificates)
    if rows:
        await session.execute(_INSERT_RANKS, rows)


def rank_rows(
    policy: Policy,
    candidates: Sequence[Candidate],
    declared: Iterable[tuple[uuid.UUID, str]],
    certificates: Iterable[CandidateCertificate],
) -> list[dict[str, Any]]:
    """The ``candidate_track_ranks`` rows of ``candidates``, given the (worker, track) pairs
    they declared and their certificates (ORM objects or rows with the same fields)."""
    tracks_of: dict[uuid.UUID, set[str]] = {c.worker_id: set() for c in candidates}
    for worker_id, track in declared:
        tracks_of[worker_id].add(track)
    held_by: dict[uuid.UUID, list[CandidateCertificate]] = {c.worker_id: [] for c in candidates}
    for certificate in certificates:
        held_by[certificate.worker_id].append(certificate)
    rows: list[dict[str, Any]] = []
    for candidate in candidates:
        held = held_by[candidate.worker_id]
        tracks = tracks_of[candidate.worker_id] | {c.track for c in held if c.track is not None}
        if candidate.name is None or not tracks:
            continue
        eligible = is_eligible(policy.weights, candidate)
        rows += [
            {
                "worker_id": candidate.worker_id,
                "track": track,
                # Every certificate counted as valid: an upper bound that expiry only lowers.
                "base_score": hundredths(
                    total(base_reasons(policy.weights, candidate, held, track, None))
                ),
                "eligible": eligible,
                "policy_version": policy.version,
            }
            for track in sorted(tracks)
        ]
    return rows


async def rebuild_missing_ranks(session: AsyncSession, limit: int = 500) -> int:
    """Rank up to ``limit`` named candidates that have no ranks under the current policy
    (rows from before the ordering existed, or from an older policy); the count done."""
    policy = await current_policy(session)
    current = exists().where(
        TrackRank.worker_id == Candidate.worker_id, TrackRank.policy_version == policy.version
    )
    has_track = or_(
        exists().where(DeclaredTrack.worker_id == Candidate.worker_id),
        exists().where(
            CandidateCertificate.worker_id == Candidate.worker_id,
            CandidateCertificate.track.is_not(None),
        ),
    )
    candidates = (
        await session.scalars(
            select(Candidate).where(Candidate.name.is_not(None), has_track, ~current).limit(limit)
        )
    ).all()
    for candidate in candidates:
        await refresh_ranks(session, candidate, policy)
    return len(candidates)


@dataclass(frozen=True)
class Scored:
    worker_id: uuid.UUID
    score: float
    reasons: list[Reason]


def _valid_certificate_in(track: str, as_of: date) -> object:
    return exists().where(
        CandidateCertificate.worker_id == Candidate.worker_id,
        CandidateCertificate.track == track,
        or_(CandidateCertificate.valid_until.is_(None), CandidateCertificate.valid_until >= as_of),
    )


def _job_filters(job: Job, weights: Weights, as_of: date) -> list[object]:
    certified = _valid_certificate_in(job.track, as_of)
    declared = exists().where(
        DeclaredTrack.worker_id == Candidate.worker_id, DeclaredTrack.track == job.track
    )
    filters: list[object] = [
        Candidate.open_engagements == 0,
        certified if job.certificate_required else or_(declared, certified),
    ]
    if job.min_stars is not None:
        filters.append(Candidate.stars >= job.min_stars)
    if job.live_in:
        filters.append(or_(Candidate.accepts_live_in.is_(None), Candidate.accepts_live_in))
    if job.partner_id is not None:
        now = utcnow()
        filters.append(
            exists().where(
                CandidateConsent.worker_id == Candidate.worker_id,
                CandidateConsent.recipient == str(job.partner_id),
                CandidateConsent.scope == weights.consent_scope,
                CandidateConsent.granted,
                or_(CandidateConsent.expires_at.is_(None), CandidateConsent.expires_at > now),
            )
        )
    return filters


def score_for_job(
    weights: Weights, view: queries.CandidateView, job: Job, as_of: date
) -> list[Reason]:
    return base_reasons(weights, view.candidate, view.certificates, job.track, as_of) + job_reasons(
        weights,
        view.candidate,
        city=job.city,
        district=job.district,
        languages=job.languages,
        pay_max=job.pay_max,
    )


#: The candidate columns the score reads (one query per batch, no ORM objects).
_SCORED_COLUMNS = (
    Candidate.stars,
    Candidate.rating_year,
    Candidate.credit_level,
    Candidate.finished_engagements,
    Candidate.county,
    Candidate.languages,
    Candidate.preferred_cities,
    Candidate.expected_pay_min,
    Candidate.list_status,
)


async def match_job(
    session: AsyncSession, job: Job, policy: Policy, *, as_of: date, limit: int
) -> tuple[list[Scored], int]:
    """The best ``limit`` candidates for ``job``, best first, and the rows read to find them.

    Every row read is scored in whole hundredths (``base_points`` + ``job_points``, no
    reasons built); the job part first, so a row whose stored base plus its exact job part
    cannot reach the k-th is dropped before its certificates are fetched. Only the results
    are explained (their reasons)."""
    weights = policy.weights
    bonus = hundredths(weights.max_job_bonus(job.city, bool(job.languages)))
    filters = _job_filters(job, weights, as_of)
    # (-score, -worker id) sorts best first, ties to the higher worker id (the walk's order).
    best: list[tuple[int, int, Any, list[Any]]] = []
    last: tuple[int, uuid.UUID] | None = None
    read = 0
    batch = BATCH
    while read < MAX_ROWS:
        query = (
            select(TrackRank.worker_id, TrackRank.base_score, *_SCORED_COLUMNS)
            .join(Candidate, Candidate.worker_id == TrackRank.worker_id)
            .where(TrackRank.track == job.track, TrackRank.eligible, *filters)  # type: ignore[arg-type]
            .order_by(TrackRank.base_score.desc(), TrackRank.worker_id.desc())
            .limit(batch)
        )
        if last is not None:
            query = query.where(
                or_(
                    TrackRank.base_score < last[0],
                    and_(TrackRank.base_score == last[0], TrackRank.worker_id < last[1]),
                )
            )
        rows = (await session.execute(query)).all()
        read += len(rows)
        if not rows:
            break
        floor = -best[-1][0] if len(best) == limit else None
        contenders = []
        for row in rows:
            job_part = job_points(
                weights,
                row,
                city=job.city,
                district=job.district,
                languages=job.languages,
                pay_max=job.pay_max,
            )
            # The stored base is an upper bound of the exact one (see refresh_ranks).
            if floor is None or row.base_score + job_part >= floor:
                contenders.append((row, job_part))
        certificates: dict[uuid.UUID, list[Any]] = {row.worker_id: [] for row, _ in contenders}
        if certificates:
            for certificate in await session.execute(
                select(
                    CandidateCertificate.worker_id,
                    CandidateCertificate.track,
                    CandidateCertificate.number,
                    CandidateCertificate.valid_until,
                ).where(CandidateCertificate.worker_id.in_(list(certificates)))
            ):
                certificates[certificate.worker_id].append(certificate)
        for row, job_part in contenders:
            held = certificates[row.worker_id]
            score = base_points(weights, row, held, job.track, as_of) + job_part
            best.append((-score, -row.worker_id.int, row, held))
        best.sort(key=lambda hit: (hit[0], hit[1]))
        del best[limit:]
        last = (rows[-1].base_score, rows[-1].worker_id)
        if len(rows) < batch:
            break
        # Unread rows have a lower base, or the same base and a lower worker id (which loses
        # a tie in the results' order): none can pass the k-th once it reaches this bound.
        if len(best) == limit and -best[-1][0] >= last[0] + bonus:
            break
        batch = min(batch * 2, 1000)
    return [_explained(weights, job, as_of, score, row, held) for score, _, row, held in best], read


def _explained(
    weights: Weights, job: Job, as_of: date, score: int, row: Any, held: list[Any]
) -> Scored:
    reasons = base_reasons(weights, row, held, job.track, as_of) + job_reasons(
        weights,
        row,
        city=job.city,
        district=job.district,
        languages=job.languages,
        pay_max=job.pay_max,
    )
    return Scored(row.worker_id, -score / 100, reasons)


@dataclass(frozen=True)
class JobScored:
    job: Job
    score: float
    reasons: list[Reason]


def job_passes(
    weights: Weights, view: queries.CandidateView, job: Job, as_of: date, consented: set[str]
) -> bool:
    """The hard filters for one worker and one job, in Python (for "jobs for me")."""
    candidate = view.candidate
    valid_tracks = {c.track for c in view.valid_certificates(as_of)}
    if job.certificate_required and job.track not in valid_tracks:
        return False
    if job.track not in valid_tracks and job.track not in view.declared_tracks:
        return False
    if job.min_stars is not None and (candidate.stars or 0) < job.min_stars:
        return False
    if job.live_in and candidate.accepts_live_in is False:
        return False
    return job.partner_id is None or str(job.partner_id) in consented


async def jobs_for_worker(
    session: AsyncSession,
    view: queries.CandidateView,
    policy: Policy,
    *,
    as_of: date,
    limit: int,
    open_jobs: Sequence[Job],
) -> list[JobScored]:
    """Open jobs the worker passes the hard filters of, best score first."""
    weights = policy.weights
    now = utcnow()
    consented = set(
        (
            await session.scalars(
                select(CandidateConsent.recipient).where(
                    CandidateConsent.worker_id == view.candidate.worker_id,
                    CandidateConsent.scope == weights.consent_scope,
                    CandidateConsent.granted,
                    or_(CandidateConsent.expires_at.is_(None), CandidateConsent.expires_at > now),
                )
            )
        ).all()
    )
    scored = [
        JobScored(job, total(reasons), reasons)
        for job in open_jobs
        if job_passes(weights, view, job, as_of, consented)
        for reasons in [score_for_job(weights, view, job, as_of)]
    ]
    scored.sort(key=lambda s: (-s.score, s.job.id))
    return scored[:limit]
