"""Appeals: a worker contests a published level of a year, or one score of their year.

- Filing: the worker themself (from the token). A level appeal needs the year closed; a score
  appeal names a score of the worker's that counts or awaits moderation. One pending appeal per
  target (409 for a second). The officer's deadline is ``appeal_decision_days`` after filing.
- The appeal window: once a year is closed, its appeals (of the level or of a score) are taken
  until ``appeal_window_days`` after the worker's latest publication of that year (or, with
  none, the closing), counted with the policy version that publication recorded: published
  levels keep their version, so a later policy does not move a window already announced.
  After it, 409 ``appeal-window-closed`` naming the deadline and the version. While a year is
  open, a score may be appealed at any time (its level is only provisional).
- Deciding: an officer upholds or rejects with a reason, once (409 after). Upholding a score
  appeal hides the score (logged as moderation); either upheld kind recomputes the level, which
  is republished when the year is closed (provisional otherwise).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import InvalidField, NotFound
from services.kit.ids import new_id
from services.rating import assessment, policies
from services.rating.models import (
    Appeal,
    AssessmentYear,
    LevelPublication,
    ModerationAction,
    Score,
)
from services.rating.problems import RatingProblem, conflict


async def file_appeal(
    session: AsyncSession,
    worker_id: uuid.UUID,
    year: int,
    score_id: uuid.UUID | None,
    reason: str,
    actor: str,
    now: datetime,
) -> Appeal:
    rules = policies.rules_of(await policies.current(session))
    year_row = await session.get(AssessmentYear, year)
    closed = year_row is not None and year_row.status == "closed"
    latest = await session.scalar(
        select(LevelPublication)
        .where(LevelPublication.worker_id == worker_id, LevelPublication.year == year)
        .order_by(LevelPublication.published_at.desc(), LevelPublication.id.desc())
        .limit(1)
    )
    if score_id is not None:
        score = await session.get(Score, score_id)
        if score is None or score.worker_id != worker_id:
            raise NotFound("rating", score_id)
        if score.year != year:
            raise InvalidField("year", f"the score belongs to {score.year}")
        if score.status == "hidden":
            raise conflict("already-moderated", "The score is already hidden")
    elif not closed:
        raise conflict(
            "nothing-published",
            f"No level of {year} is published yet: appeal a score, or wait for the closing",
        )
    elif latest is None:
        raise conflict("nothing-published", f"You have no published level for {year}")
    if closed and year_row is not None:
        await _within_window(session, year_row, latest, now)
    pending = await session.scalar(
        select(Appeal.id).where(
            Appeal.worker_id == worker_id,
            Appeal.year == year,
            Appeal.status == "pending",
            Appeal.score_id.is_(None) if score_id is None else Appeal.score_id == score_id,
        )
    )
    if pending is not None:
        raise conflict("appeal-pending", "An appeal of this is already pending")
    appeal = Appeal(
        id=new_id(),
        worker_id=worker_id,
        year=year,
        score_id=score_id,
        reason=reason,
        filed_by=actor,
        filed_at=now,
        decide_by=now + timedelta(days=rules.appeal_decision_days),
        status="pending",
    )
    session.add(appeal)
    await session.flush()
    return appeal


class AppealWindowClosed(RatingProblem):
    def __init__(self, year: int, deadline: datetime, days: int, version: int) -> None:
        super().__init__(
            409,
            "appeal-window-closed",
            f"Appeals of {year} were taken until {deadline.isoformat()}: {days} days after its "
            f"publication, under star policy version {version}",
            appeal_deadline=deadline.isoformat(),
            policy_version=version,
        )


async def appeal_deadline(
    session: AsyncSession, year_row: AssessmentYear, latest: LevelPublication | None
) -> tuple[datetime, int, int] | None:
    """(deadline, window days, policy version) of a closed year's appeals; None if open."""
    if latest is not None:
        start, version = latest.published_at, latest.policy_version
    elif year_row.closed_at is not None and year_row.policy_version is not None:
        start, version = year_row.closed_at, year_row.policy_version
    else:
        return None
    days = policies.rules_of(await policies.get(session, version)).appeal_window_days
    return start + timedelta(days=days), days, version


async def _within_window(
    session: AsyncSession, year_row: AssessmentYear, latest: LevelPublication | None, now: datetime
) -> None:
    window = await appeal_deadline(session, year_row, latest)
    if window is not None and now > window[0]:
        raise AppealWindowClosed(year_row.year, *window)


async def decide(
    session: AsyncSession, appeal: Appeal, outcome: str, reason: str, actor: str, now: datetime
) -> Appeal:
    if appeal.status != "pending":
        raise conflict("appeal-decided", f"The appeal was already {appeal.status}")
    appeal.status = outcome
    appeal.decided_at = now
    appeal.decided_by = actor
    appeal.decision_reason = reason
    if outcome == "upheld":
        if appeal.score_id is not None:
            score = await session.get(Score, appeal.score_id, with_for_update=True)
            if score is not None and score.status != "hidden":
                score.status = "hidden"
                score.updated_at = now
                session.add(
                    ModerationAction(
                        id=new_id(),
                        score_id=score.id,
                        action="hide",
                        reason=f"Appeal {appeal.id} upheld: {reason}",
                        actor=actor,
                        at=now,
                    )
                )
        await session.flush()
        await assessment.refresh_level(
            session, appeal.worker_id, appeal.year, now, reason="appeal", appeal_id=appeal.id
        )
    await session.flush()
    return appeal
