"""Anti-abuse signals on employer reviews, moderation decisions, and the worker's reply.

A new employer review is flagged (status ``flagged``: it does not count until an officer
keeps it) when, with the thresholds of the current policy's ``abuse`` rules:

- ``repeat-top-reviewer``: the same account already gave this worker
  ``max_top_reviews_per_employer`` top reviews (score >= ``top_score``) this year;
- ``own-company``: the engagement was posted by the worker's own company (its staff acting as
  the employer, no household involved);
- ``burst``: the worker already received ``burst_per_day`` reviews in the last 24 hours;
- ``outlier``: the worker has at least two counted reviews this year and this one is
  ``outlier_gap`` or more away from their mean.

Moderation hides a score or keeps it, with a reason; every decision is logged
(``moderation_actions``) and recomputes the level (republishing it once the year is closed).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.ids import new_id
from services.rating import assessment, scoring
from services.rating.models import FinishedEngagement, ModerationAction, Score, WorkerEmployment
from services.rating.policy_schemas import AbuseRules
from services.rating.problems import conflict


async def flags_for(
    session: AsyncSession,
    rules: AbuseRules,
    *,
    worker_id: uuid.UUID,
    year: int,
    rater_id: uuid.UUID,
    engagement: FinishedEngagement,
    value: Decimal,
    now: datetime,
) -> list[str]:
    flags: list[str] = []
    reviews = select(func.count()).where(
        Score.worker_id == worker_id, Score.year == year, Score.source == "employer"
    )
    top = to_hundredths(rules.top_score)
    if value >= rules.top_score:
        earlier_top = await session.scalar(
            reviews.where(Score.rater_id == rater_id, Score.score_hundredths >= top)
        )
        if (earlier_top or 0) >= rules.max_top_reviews_per_employer:
            flags.append("repeat-top-reviewer")
    if engagement.company_id is not None and engagement.employer_id is None:
        company = await session.scalar(
            select(WorkerEmployment.company_id).where(WorkerEmployment.worker_id == worker_id)
        )
        if company == engagement.company_id:
            flags.append("own-company")
    recent = await session.scalar(
        select(func.count()).where(
            Score.worker_id == worker_id,
            Score.source == "employer",
            Score.created_at > now - timedelta(hours=24),
        )
    )
    if (recent or 0) >= rules.burst_per_day:
        flags.append("burst")
    counted = (
        await session.scalars(
            select(Score.score_hundredths).where(
                Score.worker_id == worker_id,
                Score.year == year,
                Score.source == "employer",
                Score.status.in_(assessment.COUNTED),
            )
        )
    ).all()
    if len(counted) >= 2:
        mean = Fraction(sum(counted), len(counted) * 100)
        if abs(Fraction(value) - mean) >= Fraction(rules.outlier_gap):
            flags.append("outlier")
    return flags


def to_hundredths(value: Decimal) -> int:
    return scoring.to_hundredths(value)


async def moderate(
    session: AsyncSession, score: Score, action: str, reason: str, actor: str, now: datetime
) -> ModerationAction:
    """Hide or keep a score with a reason; logged; the level follows."""
    target = "hidden" if action == "hide" else "kept"
    if score.status == target:
        raise conflict("already-moderated", f"The score is already {target}")
    entry = ModerationAction(
        id=new_id(), score_id=score.id, action=action, reason=reason, actor=actor, at=now
    )
    session.add(entry)
    score.status = target
    score.updated_at = now
    await session.flush()
    await assessment.refresh_level(session, score.worker_id, score.year, now, reason="moderation")
    return entry


async def reply(session: AsyncSession, score: Score, text: str, now: datetime) -> Score:
    """The worker's one public reply to an employer review."""
    if score.source != "employer":
        raise conflict("not-a-review", "Only an employer review takes a reply")
    if score.reply is not None:
        raise conflict("already-replied", "The worker already replied to this review")
    score.reply = text
    score.replied_at = now
    score.updated_at = now
    await session.flush()
    return score
