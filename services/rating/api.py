"""Rating HTTP routes under /api/v1."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from services.rating import scoring, service
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


def rating_out(score: Score) -> RatingOut:
    return RatingOut(
        id=score.id,
        worker_id=score.worker_id,
        year=score.year,
        source=score.source,  # type: ignore[arg-type]
        rater_id=score.rater_id,
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
    body: RatingCreate, response: Response, ctx: ServiceContext = Depends(get_ctx)
) -> RatingPosted:
    """Score a worker. One score per (worker, year, source, rater): posting again replaces it."""
    async with ctx.db.write() as session:
        result = await service.rate(session, body)
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/api/v1/ratings/{result.score.id}"
    response.headers["ETag"] = etag_for(result.score.id, result.score.updated_at.isoformat())
    return RatingPosted(
        **rating_out(result.score).model_dump(),
        level=LevelSummary(
            stars=result.level.stars,
            score=float(scoring.from_hundredths(result.level.score_hundredths)),
        ),
    )


@router.get("/ratings/{rating_id}", response_model=RatingOut)
async def get_rating(
    rating_id: uuid.UUID, request: Request, ctx: ServiceContext = Depends(get_ctx)
) -> Response:
    async with ctx.db.read() as session:
        score = await session.get(Score, rating_id)
    if score is None:
        raise NotFound("rating", rating_id)
    return conditional_json(
        request, rating_out(score), etag_for(score.id, score.updated_at.isoformat())
    )


@router.get("/ratings", response_model=Page[RatingOut])
async def list_ratings(
    ctx: ServiceContext = Depends(get_ctx),
    worker_id: uuid.UUID | None = Query(None),
    year: int | None = Query(None, ge=MIN_YEAR, le=MAX_YEAR),
    source: Source | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[RatingOut]:
    """Scores, oldest first (ids are time-ordered)."""
    query = select(Score).order_by(Score.id).limit(limit + 1)
    if worker_id is not None:
        query = query.where(Score.worker_id == worker_id)
    if year is not None:
        query = query.where(Score.year == year)
    if source is not None:
        query = query.where(Score.source == source)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(Score.id > after)
    async with ctx.db.read() as session:
        scores = list((await session.scalars(query)).all())
    more = len(scores) > limit
    scores = scores[:limit]
    return Page[RatingOut](
        items=[rating_out(s) for s in scores],
        next_cursor=encode_cursor(scores[-1].id) if more else None,
    )


@router.get("/workers/{worker_id}/rating", response_model=WorkerRatingOut)
async def get_worker_rating(
    worker_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    year: int | None = Query(None, ge=MIN_YEAR, le=MAX_YEAR, description="Default: this year"),
) -> Response:
    year = year if year is not None else current_year()
    async with ctx.db.read() as session:
        level = await service.get_level(session, worker_id, year)
    return conditional_json(
        request, level_out(level), etag_for(level.worker_id, level.year, level.version)
    )
