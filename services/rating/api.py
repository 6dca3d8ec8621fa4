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
from services.rating import access, scoring, service
from services.rating.models import Score, WorkerLevel
from services.rating.schemas import (
    MAX_YEAR,
    MIN_YEAR,
    LevelSummary,
    RatingCreate,
    RatingOut,
    RatingPosted,
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
    )


def level_out(level: WorkerLevel) -> WorkerRatingOut:
    return WorkerRatingOut(
        worker_id=level.worker_id,
        year=level.year,
        stars=level.stars,
        score=float(scoring.from_hundredths(level.score_hundredths)),
        sources={source: SourceOut(**summary) for source, summary in level.sources.items()},
        updated_at=level.updated_at,
    )


@router.post(
    "/ratings",
    status_code=201,
    response_model=RatingPosted,
    responses={200: {"model": RatingPosted, "description": "Replaced the rater's earlier score"}},
)
async def post_rating(
    body: RatingCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("employer", "company", "worker")),
) -> RatingPosted:
    """Score a worker as the calling account. The source follows from the role: an employer
    rates as "employer", company staff as "company" (only workers their company currently
    employs), a worker as "self" (only themself); other roles get 403. One score per rater,
    worker and year: posting again replaces it (200)."""
    rater_id, source = access.rater_of(principal)
    async with ctx.db.write() as session:
        await access.check_may_rate(session, principal, body.worker_id)
        result = await service.rate(session, body, rater_id, source)
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/api/v1/ratings/{result.score.id}"
    response.headers["ETag"] = etag_for(result.score.id, result.score.updated_at.isoformat())
    return RatingPosted(
        **rating_out(result.score, principal).model_dump(),
        level=LevelSummary(
            stars=result.level.stars,
            score=float(scoring.from_hundredths(result.level.score_hundredths)),
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
    """A worker's star level for a year: for officers, admins, employers, partners with
    "candidates:read", the worker themself and their current company (404 for other workers
    and companies, as for a worker without a rating)."""
    year = year if year is not None else current_year()
    async with ctx.db.read() as session:
        if not await access.may_read_level(session, principal, worker_id):
            raise service.RatingNotFound(worker_id, year)
        level = await service.get_level(session, worker_id, year)
    return conditional_json(
        request, level_out(level), etag_for(level.worker_id, level.year, level.version)
    )
