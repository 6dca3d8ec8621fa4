"""Rating domain operations. Each runs inside the caller's write transaction.

A score takes one *slot* of the worker's year, and a taken slot is a 409 (issue 11: before,
re-posting replaced the score at will): an employer review holds its finished engagement's slot
(one review per engagement), a company evaluation its company's, a self-evaluation "self".
A retried POST is answered from the kit's Idempotency-Key store, not by replacing.
Scores are taken only while the year is open (assessment.py); every score recomputes the
worker's provisional level in the same transaction (an event when the stars change).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.matching import EngagementFinished
from services.kit.errors import InvalidField, Problem
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.rating import assessment, moderation, policies, scoring
from services.rating.access import Rater
from services.rating.models import (
    FinishedEngagement,
    KnownWorker,
    Score,
    WorkerCounty,
    WorkerEmployment,
    WorkerLevel,
)
from services.rating.problems import RatingProblem, conflict
from services.rating.schemas import RatingCreate, current_year


@dataclass(frozen=True)
class RateResult:
    score: Score
    #: The worker's level for the year after this score; None while nothing counts yet.
    level: WorkerLevel | None


class NoFinishedEngagement(RatingProblem):
    """The same answer whether the engagement is unknown, unfinished, someone else's or of
    another worker: an employer learns nothing about engagements that are not theirs."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "no-finished-engagement",
            "An employer reviews a worker only for a finished engagement whose job they "
            "posted; this one is not (or not yet) known as such",
        )


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


async def record_county(
    session: AsyncSession, worker_id: uuid.UUID, county: str, as_of: datetime
) -> None:
    """Remember the worker's county as of ``as_of``; older events than the one kept are
    ignored (redeliveries and replays out of order)."""
    row = await session.get(WorkerCounty, worker_id, with_for_update=True)
    if row is None:
        session.add(WorkerCounty(worker_id=worker_id, county=county, as_of=as_of))
    elif as_of >= row.as_of:
        row.county, row.as_of = county, as_of


async def rate(session: AsyncSession, data: RatingCreate, rater: Rater) -> RateResult:
    """Record one score: an employer review of a finished engagement, or a yearly evaluation.

    ``rater`` comes from the verified caller (access.rater_of), never the body.
    """
    # Locking the worker's row serialises scores of one worker on PostgreSQL, so concurrent
    # raters cannot compute levels that miss each other's scores, nor both take one slot
    # (SQLite serialises all writes).
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
    policy_row = await policies.current(session)
    rules = policies.rules_of(policy_row)
    engagement: FinishedEngagement | None = None
    if data.engagement_id is not None:
        engagement = await session.get(FinishedEngagement, data.engagement_id)
        if (
            engagement is None
            or not _may_review(engagement, rater)
            or engagement.worker_id != data.worker_id
        ):
            raise NoFinishedEngagement()
        if now > engagement.finished_at + timedelta(days=rules.review_window_days):
            raise RatingProblem(
                403,
                "review-window-closed",
                f"Reviews are taken up to {rules.review_window_days} days after the "
                f"engagement finished (star policy version {policy_row.version})",
            )
        year = engagement.end_date.year
        if data.year is not None and data.year != year:
            raise InvalidField("year", f"the engagement ended in {year}: its review counts there")
        slot = f"engagement:{engagement.engagement_id}"
    else:
        year = data.year if data.year is not None else current_year()
        slot = "self" if rater.source == "self" else f"company:{rater.party_id}"
    await assessment.require_open(session, year)
    taken = await session.scalar(
        select(Score.id).where(
            Score.worker_id == data.worker_id, Score.year == year, Score.slot == slot
        )
    )
    if taken is not None:
        what = {
            "employer": "This engagement was already reviewed",
            "company": f"Your company already evaluated this worker for {year}",
            "self": f"The self-evaluation for {year} was already given",
        }[rater.source]
        raise conflict("already-rated", what, existing=str(taken))
    value = data.value()
    flags: list[str] = []
    if engagement is not None:
        flags = await moderation.flags_for(
            session,
            rules.abuse,
            worker_id=data.worker_id,
            year=year,
            rater_id=rater.account_id,
            engagement=engagement,
            value=value,
            now=now,
        )
    score = Score(
        id=new_id(),
        worker_id=data.worker_id,
        year=year,
        source=rater.source,
        rater_id=rater.account_id,
        rater_party_id=rater.party_id if rater.source == "company" else None,
        slot=slot,
        engagement_id=data.engagement_id,
        criteria=(
            {k: scoring.to_hundredths(v) for k, v in data.criteria.model_dump().items()}
            if data.criteria is not None
            else None
        ),
        score_hundredths=scoring.to_hundredths(value),
        comment=data.comment,
        status="flagged" if flags else "visible",
        flags=flags,
        created_at=now,
        updated_at=now,
    )
    session.add(score)
    await session.flush()
    level = await assessment.refresh_level(session, data.worker_id, year, now)
    return RateResult(score=score, level=level)


def _may_review(engagement: FinishedEngagement, rater: Rater) -> bool:
    """The job's poster, or the employer (household) a partner platform's job named."""
    if _same_account(engagement.poster_account_id, rater.account_id):
        return True
    return (
        rater.role == "employer"
        and rater.party_id is not None
        and engagement.employer_id == rater.party_id
    )


def _same_account(poster_account_id: str, account: uuid.UUID) -> bool:
    """Whether the engagement's poster is the caller (account ids compared as UUIDs)."""
    try:
        return uuid.UUID(poster_account_id) == account
    except ValueError:
        return False


async def record_engagement(session: AsyncSession, data: EngagementFinished) -> None:
    """Remember a finished engagement; a repeat (redelivery, replay) is a no-op."""
    engagement_id = uuid.UUID(data.engagement_id)
    if await session.get(FinishedEngagement, engagement_id) is not None:
        return
    session.add(
        FinishedEngagement(
            engagement_id=engagement_id,
            job_id=uuid.UUID(data.job_id),
            worker_id=uuid.UUID(data.worker_id),
            employer_id=uuid.UUID(data.employer_id) if data.employer_id else None,
            company_id=uuid.UUID(data.company_id) if data.company_id else None,
            poster_account_id=data.poster_account_id,
            start_date=data.start_date,
            end_date=data.end_date,
            finished_at=data.finished_at,
            recorded_at=utcnow(),
        )
    )


async def get_level(session: AsyncSession, worker_id: uuid.UUID, year: int) -> WorkerLevel:
    level = await session.get(WorkerLevel, (worker_id, year))
    if level is None:
        raise RatingNotFound(worker_id, year)
    return level
