"""Assessment years and levels: provisional while a year is open, published when it closes.

- An officer opens a year; scores for it are accepted only while it is open.
- While it is open, every counted change of evidence recomputes the worker's **provisional**
  level with the current policy; a change of stars is announced as ``rating.worker.changed``
  with ``provisional: true`` (the behaviour before years existed, now marked as such).
- Closing computes every worker's level from the year's counted evidence with the policy current
  at that moment, records its version with each level, keeps each publication in
  ``level_publications`` and announces every one (``provisional: false``).
- After the closing, an upheld appeal or a moderation decision recomputes and **republishes**
  (a new publication and event), with the policy current then, recorded likewise.

Counted evidence: scores whose status is ``visible`` or ``kept`` (moderation.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.rating import WorkerRatingChanged
from services.kit.errors import NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.rating import policies, scoring
from services.rating.models import AssessmentYear, LevelPublication, Score, WorkerLevel
from services.rating.problems import RatingProblem, conflict

COUNTED = ("visible", "kept")


class YearNotOpen(RatingProblem):
    def __init__(self, year: int, status: str | None) -> None:
        state = "was never opened" if status is None else "is closed"
        super().__init__(
            409,
            "assessment-year-not-open",
            f"Assessment year {year} {state}: scores are taken only while an officer keeps "
            "the year open",
        )


async def get_year(session: AsyncSession, year: int) -> AssessmentYear:
    row = await session.get(AssessmentYear, year)
    if row is None:
        raise NotFound("assessment year", year)
    return row


async def require_open(session: AsyncSession, year: int) -> AssessmentYear:
    """The open year, share-locked on PostgreSQL: a closing (which locks it for update) waits
    for scores in flight, and a score arriving during a closing waits and then sees it closed."""
    row = await session.get(AssessmentYear, year, with_for_update={"read": True})
    if row is None or row.status != "open":
        raise YearNotOpen(year, None if row is None else row.status)
    return row


async def open_year(session: AsyncSession, year: int, actor: str, now: datetime) -> AssessmentYear:
    if await session.get(AssessmentYear, year) is not None:
        raise conflict("year-exists", f"Assessment year {year} was already opened")
    row = AssessmentYear(year=year, status="open", opened_at=now, opened_by=actor, published=0)
    session.add(row)
    await session.flush()
    return row


async def close_year(session: AsyncSession, year: int, actor: str, now: datetime) -> AssessmentYear:
    """Close the year and publish every worker's level with the current policy."""
    row = await session.get(AssessmentYear, year, with_for_update=True)
    if row is None:
        raise NotFound("assessment year", year)
    if row.status != "open":
        raise conflict("year-closed", f"Assessment year {year} is already closed")
    policy_row = await policies.current(session)
    row.status = "closed"
    row.closed_at = now
    row.closed_by = actor
    row.policy_version = policy_row.version
    workers = (
        await session.scalars(
            select(Score.worker_id)
            .where(Score.year == year, Score.status.in_(COUNTED))
            .distinct()
            .order_by(Score.worker_id)
        )
    ).all()
    published = 0
    for worker_id in workers:
        if await refresh_level(session, worker_id, year, now, reason="closing") is not None:
            published += 1
    # Provisional levels left without counted evidence are not published: they go.
    await session.execute(
        delete(WorkerLevel).where(WorkerLevel.year == year, WorkerLevel.provisional.is_(True))
    )
    row.published = published
    await session.flush()
    return row


def _contributions(level: scoring.Level) -> list[dict[str, Any]]:
    return [
        {
            "source": c.source,
            "count": c.count,
            "mean": str(c.mean),
            "weight": str(c.weight),
            "points": str(c.points),
        }
        for c in level.contributions
    ]


def explanation(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored contributions as the API shows them (two-decimal points sum to the score)."""
    return [
        {
            "source": c["source"],
            "count": c["count"],
            "mean": float(Decimal(c["mean"])),
            "weight": float(Fraction(c["weight"])),
            "points": float(Decimal(c["points"])),
        }
        for c in stored
    ]


async def refresh_level(
    session: AsyncSession,
    worker_id: uuid.UUID,
    year: int,
    now: datetime,
    *,
    reason: str = "evidence",
    appeal_id: uuid.UUID | None = None,
) -> WorkerLevel | None:
    """Recompute the worker's level of the year from its counted evidence.

    Provisional while the year is open (an event only when the stars change); once the year is
    closed, a publication (always recorded and announced). None when nothing counts.
    """
    year_row = await session.get(AssessmentYear, year)
    final = year_row is not None and year_row.status == "closed"
    policy_row = await policies.current(session)
    rows = (
        await session.execute(
            select(Score.source, Score.score_hundredths).where(
                Score.worker_id == worker_id, Score.year == year, Score.status.in_(COUNTED)
            )
        )
    ).all()
    computed = scoring.level_for(
        ((row.source, scoring.from_hundredths(row.score_hundredths)) for row in rows),
        policies.star_policy(policy_row),
    )
    level = await session.get(WorkerLevel, (worker_id, year), with_for_update=True)
    if computed is None:
        if level is not None and level.provisional:
            await session.delete(level)
            await session.flush()
        # A published level stands until evidence replaces it: "no level" is not news the
        # event can carry, and a worker must not lose a published level to a hidden review.
        return None if level is None or level.provisional else level
    previous_stars = level.stars if level is not None else None
    if level is None:
        level = WorkerLevel(worker_id=worker_id, year=year, version=0, created_at=now)
        session.add(level)
    level.stars = computed.stars
    level.score_hundredths = scoring.to_hundredths(computed.score)
    level.sources = {
        source: {"count": summary.count, "mean": float(summary.mean)}
        for source, summary in computed.sources.items()
    }
    level.provisional = not final
    level.policy_version = computed.policy_version
    level.contributions = _contributions(computed)
    level.version += 1
    level.updated_at = now
    if final:
        session.add(
            LevelPublication(
                id=new_id(),
                worker_id=worker_id,
                year=year,
                stars=computed.stars,
                score_hundredths=level.score_hundredths,
                policy_version=computed.policy_version,
                reason=reason,
                appeal_id=appeal_id,
                contributions=level.contributions,
                published_at=now,
            )
        )
    await session.flush()
    # A provisional change within the band is not news; every publication is.
    if final or computed.stars != previous_stars:
        await publish(
            session,
            WorkerRatingChanged(
                worker_id=str(worker_id),
                year=year,
                stars=computed.stars,
                previous_stars=previous_stars,
                score=float(computed.score),
                changed_at=now,
                provisional=not final,
                policy_version=computed.policy_version,
            ),
        )
    return level
