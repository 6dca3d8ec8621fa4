"""Worker routes under /api/v1/workers: registration, profile, status, employment, lookup.

Every route authenticates (401 without a valid bearer token), checks the caller's role against
:mod:`.access` before touching the database (403), then the caller's relation to the record
(404 for records the caller may not see, so existence is not revealed).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from sqlalchemy import exists, select

from contracts.common import County, Track, WorkerStatus
from contracts.registry import TargetGroup
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Problem
from services.kit.http import conditional_json
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.pii import PiiCipher
from services.kit.principal import Principal, forbidden
from services.registry.parties import (
    access,
    employment,
    lifecycle,
    profile,
    records,
    registration,
    views,
)
from services.registry.parties.access import Action
from services.registry.parties.models import Worker, WorkerTargetGroup, WorkerTrack
from services.registry.parties.schemas.workers import (
    EmploymentJoin,
    EmploymentOut,
    StatusChangeOut,
    StatusChangeRequest,
    VerifyRequest,
    WorkerCreate,
    WorkerLookup,
    WorkerOut,
    WorkerPatch,
)

router = APIRouter(prefix="/api/v1", tags=["workers"])


def cipher_of(ctx: ServiceContext) -> PiiCipher:
    return ctx.extras["pii"]  # type: ignore[no-any-return]


def _out(principal: Principal, worker: Worker, cipher: PiiCipher) -> WorkerOut:
    return views.worker_out(worker, cipher, full=access.sees_worker_numbers(principal, worker))


def _with_etag(response: Response, worker: Worker) -> None:
    response.headers["ETag"] = views.etag(worker)


@router.post("/workers", status_code=201, response_model=WorkerOut)
async def register_worker(
    body: WorkerCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_REGISTER)),
) -> WorkerOut:
    """Register a worker. Officers and admins; company staff, who employ the worker at once
    (into their own company only; kind defaults to the company's)."""
    access.require(principal, Action.WORKER_REGISTER)
    if principal.role == "company":
        if principal.party_id is None:
            raise forbidden("This company account is not linked to a company")
        if body.employment is None:
            body = body.model_copy(
                update={"employment": EmploymentJoin(company_id=principal.party_id)}
            )
        access.ensure_employ_into(principal, body.employment.company_id)  # type: ignore[union-attr]
    elif body.employment is not None:
        access.ensure_employ_into(principal, body.employment.company_id)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        worker = await registration.register_worker(session, cipher, body, principal)
    response.headers["Location"] = f"/api/v1/workers/{worker.id}"
    _with_etag(response, worker)
    return _out(principal, worker, cipher)


@router.get("/workers", response_model=Page[WorkerOut])
async def list_workers(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_LIST)),
    county: County | None = Query(None),
    status: WorkerStatus | None = Query(None),
    track: Track | None = Query(None),
    target_group: TargetGroup | None = Query(None),
    company_id: uuid.UUID | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[WorkerOut]:
    """Workers, oldest first, filtered. Officers, admins and partners with ``workers:read`` see
    everyone (partners masked); company staff only their current employees."""
    company_id = access.worker_list_company(principal, company_id)
    query = select(Worker)
    if county is not None:
        query = query.where(Worker.county == county)
    if status is not None:
        query = query.where(Worker.status == status)
    if company_id is not None:
        query = query.where(Worker.company_id == company_id)
    if track is not None:
        query = query.where(
            exists().where(WorkerTrack.worker_id == Worker.id, WorkerTrack.track == track)
        )
    if target_group is not None:
        query = query.where(
            exists().where(
                WorkerTargetGroup.worker_id == Worker.id,
                WorkerTargetGroup.target_group == target_group,
            )
        )
    async with ctx.db.read() as session:
        workers, next_cursor = await keyset_page(session, query, Worker.id, cursor, limit)
    cipher = cipher_of(ctx)
    return Page[WorkerOut](
        items=[_out(principal, w, cipher) for w in workers], next_cursor=next_cursor
    )


@router.post("/workers/lookup", response_model=WorkerOut)
async def lookup_worker(
    body: WorkerLookup,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_LOOKUP)),
) -> WorkerOut:
    """Find the worker with an ID-card number. Officers and admins. POST, so the number stays
    out of URLs and access logs."""
    access.require(principal, Action.WORKER_LOOKUP)
    cipher = cipher_of(ctx)
    async with ctx.db.read() as session:
        worker = await records.find_worker_by_id_card(session, cipher, body.id_card_number)
    if worker is None:
        raise Problem(404, "not-found", "worker not found", "No worker has this ID-card number")
    _with_etag(response, worker)
    return _out(principal, worker, cipher)


# ":uuid" so that /workers/lookup (POST only) is never taken for a worker id: GET or PATCH
# there is a 405 naming POST, not a 422 about a malformed id.
@router.get("/workers/{worker_id:uuid}", response_model=WorkerOut)
async def get_worker(
    worker_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_READ)),
) -> Response:
    """One worker: themself, their current company, officers, admins, partners with
    ``workers:read``. Anyone else whose role may read some workers gets 404."""
    access.require(principal, Action.WORKER_READ)
    async with ctx.db.read() as session:
        worker = await records.get_worker(session, worker_id)
    access.ensure_worker(principal, Action.WORKER_READ, worker)
    return conditional_json(request, _out(principal, worker, cipher_of(ctx)), views.etag(worker))


@router.patch("/workers/{worker_id:uuid}", response_model=WorkerOut)
async def update_worker(
    worker_id: uuid.UUID,
    body: WorkerPatch,
    request: Request,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_UPDATE)),
) -> WorkerOut:
    """Change a worker's profile (merge patch). ``If-Match`` is required: 428 without it, 412
    when stale. Workers may change only phone, county, languages, education and tracks."""
    access.require(principal, Action.WORKER_UPDATE)
    if_match = views.require_if_match(request)
    cipher = cipher_of(ctx)
    async with ctx.db.write() as session:
        worker = await records.get_worker(session, worker_id, for_update=True)
        access.ensure_worker(principal, Action.WORKER_UPDATE, worker)
        views.check_if_match(if_match, views.etag(worker))
        access.ensure_fields(principal, worker, body.model_fields_set)
        await profile.update_worker(session, cipher, worker, body, principal)
    _with_etag(response, worker)
    return _out(principal, worker, cipher)


@router.post("/workers/{worker_id}/verify", response_model=WorkerOut)
async def verify_worker(
    worker_id: uuid.UUID,
    response: Response,
    body: VerifyRequest | None = Body(None),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_VERIFY)),
) -> WorkerOut:
    """registered → verified. Officers, admins and the worker's current company."""
    access.require(principal, Action.WORKER_VERIFY)
    reason = (body or VerifyRequest()).reason
    async with ctx.db.write() as session:
        worker = await records.get_worker(session, worker_id, for_update=True)
        access.ensure_worker(principal, Action.WORKER_VERIFY, worker)
        await lifecycle.verify_worker(session, worker, principal, reason)
    _with_etag(response, worker)
    return _out(principal, worker, cipher_of(ctx))


@router.post("/workers/{worker_id}/status", response_model=WorkerOut)
async def change_status(
    worker_id: uuid.UUID,
    body: StatusChangeRequest,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_STATUS)),
) -> WorkerOut:
    """Move a worker along the life cycle (409 for a move the table forbids). Officers and
    admins: any move; the current company: verified→active, active⇄suspended; the worker:
    →left."""
    access.require(principal, Action.WORKER_STATUS)
    async with ctx.db.write() as session:
        worker = await records.get_worker(session, worker_id, for_update=True)
        access.ensure_worker(principal, Action.WORKER_STATUS, worker)
        if body.to != "verified" and body.to != worker.status:
            lifecycle.check_transition(worker.status, body.to)
            if not access.may_transition(principal, worker, worker.status, body.to):
                raise forbidden(
                    f"Role {principal.role} may not move a worker from {worker.status} to {body.to}"
                )
        await lifecycle.change_worker_status(session, worker, body.to, body.reason, principal)
    _with_etag(response, worker)
    return _out(principal, worker, cipher_of(ctx))


@router.get("/workers/{worker_id}/status-history", response_model=list[StatusChangeOut])
async def get_status_history(
    worker_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_HISTORY)),
) -> list[StatusChangeOut]:
    """Who changed the worker's status, when and why. Self, current company, officers."""
    access.require(principal, Action.WORKER_HISTORY)
    async with ctx.db.read() as session:
        worker = await records.get_worker(session, worker_id)
        access.ensure_worker(principal, Action.WORKER_HISTORY, worker)
        changes = await lifecycle.status_history(session, worker_id)
    return [views.status_change_out(c) for c in changes]


@router.post("/workers/{worker_id}/employment", status_code=201, response_model=EmploymentOut)
async def join_company(
    worker_id: uuid.UUID,
    body: EmploymentJoin,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.EMPLOYMENT_JOIN)),
) -> EmploymentOut:
    """Employ a worker (409 if employed anywhere: they must leave first). Officers and admins
    into any company; company staff into their own."""
    access.require(principal, Action.EMPLOYMENT_JOIN)
    access.ensure_employ_into(principal, body.company_id)
    async with ctx.db.write() as session:
        worker = await records.get_worker(session, worker_id, for_update=True)
        access.ensure_worker(principal, Action.EMPLOYMENT_JOIN, worker)
        joined = await employment.join_company(
            session, worker, body.company_id, body.kind, principal
        )
    return views.employment_out(joined)


@router.delete("/workers/{worker_id}/employment", response_model=EmploymentOut)
async def leave_company(
    worker_id: uuid.UUID,
    reason: str | None = Query(None, min_length=1, max_length=500),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.EMPLOYMENT_LEAVE)),
) -> EmploymentOut:
    """End the current employment (409 if none). The worker, their company, officers."""
    access.require(principal, Action.EMPLOYMENT_LEAVE)
    async with ctx.db.write() as session:
        worker = await records.get_worker(session, worker_id, for_update=True)
        access.ensure_worker(principal, Action.EMPLOYMENT_LEAVE, worker)
        ended = await employment.leave_company(session, worker, principal, reason)
    return views.employment_out(ended)


@router.get("/workers/{worker_id}/employments", response_model=list[EmploymentOut])
async def get_employment_history(
    worker_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(access.policy(Action.WORKER_HISTORY)),
) -> list[EmploymentOut]:
    """Employment history, newest first. Self, current company, officers."""
    access.require(principal, Action.WORKER_HISTORY)
    async with ctx.db.read() as session:
        worker = await records.get_worker(session, worker_id)
        access.ensure_worker(principal, Action.WORKER_HISTORY, worker)
        employments = await employment.employment_history(session, worker_id)
    return [views.employment_out(e) for e in employments]
