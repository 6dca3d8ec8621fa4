"""Registry HTTP routes under /api/v1."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from services.kit.app import ServiceContext, get_ctx
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from services.registry import service
from services.registry.models import Worker
from services.registry.schemas import WorkerCreate, WorkerOut

router = APIRouter(prefix="/api/v1", tags=["workers"])


def worker_out(worker: Worker) -> WorkerOut:
    return WorkerOut(
        id=worker.id,
        name=worker.name,
        gender=worker.gender,  # type: ignore[arg-type]
        birth_date=worker.birth_date,
        id_card_number=worker.id_card_masked,
        phone=worker.phone_masked,
        county=worker.county,  # type: ignore[arg-type]
        tracks=worker.tracks,  # type: ignore[arg-type]
        languages=worker.languages,
        status=worker.status,
        company_id=worker.company_id,
        version=worker.version,
        created_at=worker.created_at,
        updated_at=worker.updated_at,
    )


@router.post("/workers", status_code=201, response_model=WorkerOut)
async def register_worker(
    body: WorkerCreate, response: Response, ctx: ServiceContext = Depends(get_ctx)
) -> WorkerOut:
    async with ctx.db.write() as session:
        worker = await service.register_worker(session, ctx.extras["pii"], body)
    response.headers["Location"] = f"/api/v1/workers/{worker.id}"
    response.headers["ETag"] = etag_for(worker.id, worker.version)
    return worker_out(worker)


@router.get("/workers/{worker_id}", response_model=WorkerOut)
async def get_worker(
    worker_id: uuid.UUID, request: Request, ctx: ServiceContext = Depends(get_ctx)
) -> Response:
    async with ctx.db.read() as session:
        worker = await service.get_worker(session, worker_id)
    return conditional_json(request, worker_out(worker), etag_for(worker.id, worker.version))


@router.get("/workers", response_model=Page[WorkerOut])
async def list_workers(
    ctx: ServiceContext = Depends(get_ctx),
    county: str | None = Query(None, max_length=20),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[WorkerOut]:
    query = select(Worker).order_by(Worker.id).limit(limit + 1)
    if county is not None:
        query = query.where(Worker.county == county)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(Worker.id > after)
    async with ctx.db.read() as session:
        workers = list((await session.scalars(query)).all())
    more = len(workers) > limit
    workers = workers[:limit]
    return Page[WorkerOut](
        items=[worker_out(w) for w in workers],
        next_cursor=encode_cursor(workers[-1].id) if more else None,
    )
