"""Rating HTTP routes under /api/v1."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.rating import access, assessment, moderation, scoring, service
from services.rating.models import ModerationAction, Score, WorkerLevel
from services.rating.schemas import (
    MAX_YEAR,
    MIN_YEAR,
    ContributionOut,
    LevelSummary,
    ModerationCreate,
    ModerationOut,
    RatingCreate,
    RatingOut,
    RatingPosted,
    ReplyCreate,
    ScoreStatus,
    SourceOut,
    WorkerRatingOut,
    current_year,
)
from services.rating.scoring import Source

router = APIRouter(prefix="/api/v1", tags=["ratings"])

#: Who may read individual scores; access.py narrows it to the records each may see.
SCORE_READERS = allow(*STAFF, "worker", "company", "employer")


def rating_out(score: Score, principal: Principal) -> RatingOut:
    return RatingOut(
        id=score.id,
        worker_id=score.worker_id,
        year=score.year,
        source=score.source,  # type: ignore[arg-type]
        rater_id=None if access.hides_rater(principal, score) else score.rater_id,
        score=float(scoring.from_hundredths(score.score_hundredths)),
        comment=score.comment,
        created_at=score.created_at,
        updated_at=score.updated_at,
        engagement_id=score.engagement_id,
        criteria=(
            {k: float(scoring.from_hundredths(v)) for k, v in score.criteria.items()}
            if score.criteria is not None
            else None
        ),
        status=score.status,  # type: ignore[arg-type]
        flags=list(score.flags),
        reply=score.reply,
        replied_at=score.replied_at,
    )


def level_out(level: WorkerLevel) -> WorkerRatingOut:
    return WorkerRatingOut(
        worker_id=level.worker_id,
        year=level.year,
        stars=level.stars,
        score=float(scoring.from_hundredths(level.score_hundredths)),
        sources={source: SourceOut(**summary) for source, summary in level.sources.items()},
        updated_at=level.updated_at,
        provisional=level.provisional,
        policy_version=level.policy_version,
        explanation=[ContributionOut(**c) for c in assessment.explanation(level.contributions)],
    )


@router.post("/ratings", status_code=201, response_model=RatingPosted)
async def post_rating(
    body: RatingCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("employer", "company", "worker")),
) -> RatingPosted:
    """Score a worker as the calling account, for an open assessment year.

    - An **employer review** gives ``engagement_id`` and ``criteria``: only the account that
      posted the job of that *finished* engagement (employer or company staff) may give it,
      once (409 after), within the policy's review window; otherwise 403. An employer without
      an engagement gets 403.
    - Company staff without an engagement evaluate a worker their company currently employs,
      a worker themself: once per year each (409 after).

    A year that is not open is a 409. Anti-abuse signals flag a review for moderation: it is
    kept but does not count until an officer keeps it. Answers the worker's provisional level.
    """
    body.value()  # score or criteria: a 422 before anything else
    rater = access.rater_of(principal, with_engagement=body.engagement_id is not None)
    async with ctx.db.write() as session:
        if body.engagement_id is None:
            await access.check_may_rate(session, principal, body.worker_id)
        result = await service.rate(session, body, rater)
    response.headers["Location"] = f"/api/v1/ratings/{result.score.id}"
    response.headers["ETag"] = etag_for(result.score.id, result.score.updated_at.isoformat())
    return RatingPosted(
        **rating_out(result.score, principal).model_dump(),
        level=(
            LevelSummary(
                stars=result.level.stars,
                score=float(scoring.from_hundredths(result.level.score_hundredths)),
            )
            if result.level is not None
            else None
        ),
    )


@router.get("/ratings/{rating_id}", response_model=RatingOut)
async def get_rating(
    rating_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(SCORE_READERS),
) -> Response:
    """One score: for officers and admins, the rater, the rated worker (without the rater's
    id unless it is their own) and the worker's current company; 404 for anyone else."""
    async with ctx.db.read() as session:
        score = await session.get(Score, rating_id)
        visible = score is not None and await access.may_read_score(session, principal, score)
    if score is None or not visible:
        raise NotFound("rating", rating_id)
    return conditional_json(
        request,
        rating_out(score, principal),
        # The view differs by reader (rater ids hidden from the worker): so does the tag.
        etag_for(score.id, score.updated_at.isoformat(), access.hides_rater(principal, score)),
    )


@router.get("/ratings", response_model=Page[RatingOut])
async def list_ratings(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(SCORE_READERS),
    worker_id: uuid.UUID | None = Query(None),
    year: int | None = Query(None, ge=MIN_YEAR, le=MAX_YEAR),
    source: Source | None = Query(None),
    status: ScoreStatus | None = Query(None, description="e.g. flagged: awaiting moderation"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[RatingOut]:
    """Scores, oldest first (ids are time-ordered), limited to those the caller may read:
    officers and admins all; others the scores they gave, a worker also the scores of
    themself, company staff also those of their current employees. Filters narrow that."""
    query = select(Score)
    if (visible := access.visible_scores(principal)) is not None:
        query = query.where(visible)
    if worker_id is not None:
        query = query.where(Score.worker_id == worker_id)
    if year is not None:
        query = query.where(Score.year == year)
    if source is not None:
        query = query.where(Score.source == source)
    if status is not None:
        query = query.where(Score.status == status)
    async with ctx.db.read() as session:
        scores, next_cursor = await keyset_page(session, query, Score.id, cursor, limit)
    return Page[RatingOut](
        items=[rating_out(s, principal) for s in scores], next_cursor=next_cursor
    )


@router.get("/workers/{worker_id}/rating", response_model=WorkerRatingOut)
async def get_worker_rating(
    worker_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(
        allow(*STAFF, "worker", "company", "employer", scopes=["candidates:read"])
    ),
    year: int | None = Query(None, ge=MIN_YEAR, le=MAX_YEAR, description="Default: this year"),
) -> Response:
    """A worker's star level for a year, provisional while the year is open, with the policy
    version that computed it and each source's contribution: for officers, admins, employers,
    partners with "candidates:read", the worker themself and their current company (404 for
    other workers and companies, as for a worker without a rating)."""
    year = year if year is not None else current_year()
    async with ctx.db.read() as session:
        if not await access.may_read_level(session, principal, worker_id):
            raise service.RatingNotFound(worker_id, year)
        level = await service.get_level(session, worker_id, year)
    return conditional_json(
        request, level_out(level), etag_for(level.worker_id, level.year, level.version)
    )


@router.post("/ratings/{rating_id}/reply", response_model=RatingOut)
async def reply_to_rating(
    rating_id: uuid.UUID,
    body: ReplyCreate,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("worker")),
) -> RatingOut:
    """The reviewed worker's one public reply to an employer review (409 for a second one or
    for an evaluation); 404 for a score that is not theirs."""
    async with ctx.db.write() as session:
        score = await session.get(Score, rating_id, with_for_update=True)
        if score is None or not principal.acts_for(score.worker_id):
            raise NotFound("rating", rating_id)
        await moderation.reply(session, score, body.text, utcnow())
    return rating_out(score, principal)


@router.post("/ratings/{rating_id}/moderation", status_code=201, response_model=ModerationOut)
async def moderate_rating(
    rating_id: uuid.UUID,
    body: ModerationCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("officer")),
) -> ModerationOut:
    """An officer hides a score or keeps it (a flagged one then counts), with a reason; the
    decision is logged and the level recomputed (republished once the year is closed).
    409 when the score already has that status."""
    async with ctx.db.write() as session:
        score = await session.get(Score, rating_id, with_for_update=True)
        if score is None:
            raise NotFound("rating", rating_id)
        entry = await moderation.moderate(
            session, score, body.action, body.reason, principal.subject, utcnow()
        )
    response.headers["Location"] = f"/api/v1/ratings/{rating_id}/moderation"
    return moderation_out(entry)


@router.get("/ratings/{rating_id}/moderation", response_model=list[ModerationOut])
async def list_moderation(
    rating_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> Response:
    """The moderation log of one score, oldest first (officers and admins)."""
    async with ctx.db.read() as session:
        if await session.get(Score, rating_id) is None:
            raise NotFound("rating", rating_id)
        entries = (
            await session.scalars(
                select(ModerationAction)
                .where(ModerationAction.score_id == rating_id)
                .order_by(ModerationAction.at, ModerationAction.id)
            )
        ).all()
    return conditional_json(
        request, [moderation_out(e) for e in entries], etag_for(rating_id, [e.id for e in entries])
    )


def moderation_out(entry: ModerationAction) -> ModerationOut:
    return ModerationOut(
        id=entry.id,
        rating_id=entry.score_id,
        action=entry.action,  # type: ignore[arg-type]
        reason=entry.reason,
        actor=entry.actor,
        at=entry.at,
    )
