"""Rating domain operations. Each runs inside the caller's write transaction.

Re-posting a score for the same (worker, year, rater) *replaces* the rater's earlier score
rather than conflicting (the source follows from the rater's role, see access.py): a rater may
revise their opinion, and a retried POST is then harmless. Every score recomputes the worker's
level for that year in the same transaction; a change of stars (including the first level)
publishes ``rating.worker.changed``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.rating import WorkerRatingChanged
from services.kit.errors import InvalidField, Problem
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.types import utcnow
from services.rating import scoring
from services.rating.models import KnownWorker, Score, WorkerEmployment, WorkerLevel
from services.rating.schemas import RatingCreate
from services.rating.scoring import Source


@dataclass(frozen=True)
class RateResult:
    score: Score
    #: False when the rater's earlier score was replaced.
    created: bool
    level: WorkerLevel


class RatingNotFound(Problem):
    def __init__(self, worker_id: uuid.UUID, year: int) -> None:
        super().__init__(
            404, "not-found", "Rating not found", f"Worker {worker_id} has no rating for {year}"
        )


async def record_worker(
    session: AsyncSession, worker_id: uuid.UUID, registered_at: datetime
) -> None:
    """Remember a registered worker; a repeat is a no-op."""
    if await session.get(KnownWorker, worker_id) is None:
        session.add(
            KnownWorker(worker_id=worker_id, registered_at=registered_at, recorded_at=utcnow())
        )


async def record_employment(
    session: AsyncSession, worker_id: uuid.UUID, company_id: uuid.UUID | None, as_of: datetime
) -> None:
    """Remember the worker's company as of ``as_of``; an older event than the one kept is
    ignored (a redelivery or a replay out of order must not undo a later move)."""
    row = await session.get(WorkerEmployment, worker_id, with_for_update=True)
    if row is None:
        session.add(
            WorkerEmployment(
                worker_id=worker_id, company_id=company_id, as_of=as_of, recorded_at=utcnow()
            )
        )
    elif as_of >= row.as_of:
        row.company_id = company_id
        row.as_of = as_of
        row.recorded_at = utcnow()


async def rate(
    session: AsyncSession, data: RatingCreate, rater_id: uuid.UUID, source: Source
) -> RateResult:
    """Record (or replace) one rater's score and bring the worker's level up to date.

    ``rater_id`` and ``source`` come from the verified caller (access.rater_of), never the body.
    """
    # Locking the worker's row serialises ratings of one worker on PostgreSQL, so concurrent
    # raters cannot compute levels that miss each other's scores (SQLite serialises all writes).
    known = await session.scalar(
        select(KnownWorker.worker_id)
        .where(KnownWorker.worker_id == data.worker_id)
        .with_for_update()
    )
    if known is None:
        raise InvalidField(
            "worker_id",
            "no registered worker has this id; a new registration may take a moment to "
            "arrive here, so retry shortly",
            slug="unknown-worker",
        )
    now = utcnow()
    score = await session.scalar(
        select(Score).where(
            Score.worker_id == data.worker_id,
            Score.year == data.year,
            Score.source == source,
            Score.rater_id == rater_id,
        )
    )
    created = score is None
    if score is None:
        score = Score(
            id=new_id(),
            worker_id=data.worker_id,
            year=data.year,
            source=source,
            rater_id=rater_id,
            created_at=now,
        )
        session.add(score)
    score.score_hundredths = scoring.to_hundredths(data.score)
    score.comment = data.comment
    score.updated_at = now
    await session.flush()
    level = await recompute_level(session, data.worker_id, data.year, now)
    return RateResult(score=score, created=created, level=level)


async def recompute_level(
    session: AsyncSession, worker_id: uuid.UUID, year: int, now: datetime
) -> WorkerLevel:
    """Recompute the level from all scores; publish an event when the stars change."""
    rows = (
        await session.execute(
            select(Score.source, Score.score_hundredths).where(
                Score.worker_id == worker_id, Score.year == year
            )
        )
    ).all()
    computed = scoring.level_for(
        (row.source, scoring.from_hundredths(row.score_hundredths)) for row in rows
    )
    if computed is None:  # only reachable if called without any score
        raise RatingNotFound(worker_id, year)
    sources = {
        source: {"count": summary.count, "mean": float(summary.mean)}
        for source, summary in computed.sources.items()
    }
    level = await session.get(WorkerLevel, (worker_id, year), with_for_update=True)
    previous_stars = level.stars if level is not None else None
    if level is None:
        level = WorkerLevel(worker_id=worker_id, year=year, version=0, created_at=now)
        session.add(level)
    level.stars = computed.stars
    level.score_hundredths = scoring.to_hundredths(computed.score)
    level.sources = sources
    level.version += 1
    level.updated_at = now
    await session.flush()
    # Only a change of stars is news to others; a score change within the band is not.
    if computed.stars != previous_stars:
        await publish(
            session,
            WorkerRatingChanged(
                worker_id=str(worker_id),
                year=year,
                stars=computed.stars,
                previous_stars=previous_stars,
                score=float(computed.score),
                changed_at=now,
            ),
        )
    return level


async def get_level(session: AsyncSession, worker_id: uuid.UUID, year: int) -> WorkerLevel:
    level = await session.get(WorkerLevel, (worker_id, year))
    if level is None:
        raise RatingNotFound(worker_id, year)
    return level
