"""Application and engagement routes: apply, invite, the moves of an application (shortlist,
interview, offer, accept …), and starting, finishing or cancelling an engagement."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.matching.recruitment import hiring, jobs
from services.matching.recruitment.history import conflict_on_race, history_of
from services.matching.recruitment.models import Application, Engagement, Job
from services.matching.recruitment.schemas import (
    ApplicationActionIn,
    ApplicationOut,
    ApplicationStatus,
    ApplyIn,
    CancelIn,
    EngagementOut,
    EngagementStatus,
    FinishIn,
    InviteIn,
)

router = APIRouter(prefix="/api/v1", tags=["applications"])

SCOPE = "applications:write"
PARTIES = allow(*STAFF, "worker", "employer", "company", scopes=[SCOPE])
ACTORS = allow("worker", "employer", "company", scopes=[SCOPE])


async def application_out(session: AsyncSession, application: Application) -> ApplicationOut:
    return ApplicationOut(
        id=application.id,
        job_id=application.job_id,
        worker_id=application.worker_id,
        origin=application.origin,  # type: ignore[arg-type]
        status=application.status,  # type: ignore[arg-type]
        fair_id=application.fair_id,
        interview=application.interview,
        offer=application.offer,
        engagement_id=application.engagement_id,
        created_at=application.created_at,
        updated_at=application.updated_at,
        history=await history_of(session, "application", application.id),
    )


async def engagement_out(session: AsyncSession, engagement: Engagement) -> EngagementOut:
    return EngagementOut(
        id=engagement.id,
        application_id=engagement.application_id,
        job_id=engagement.job_id,
        worker_id=engagement.worker_id,
        employer_id=engagement.employer_id,
        company_id=engagement.company_id,
        partner_id=engagement.partner_id,
        track=engagement.track,  # type: ignore[arg-type]
        start_date=engagement.start_date,
        end_date=engagement.end_date,
        terms=engagement.terms,
        status=engagement.status,  # type: ignore[arg-type]
        started_at=engagement.started_at,
        finished_at=engagement.finished_at,
        history=await history_of(session, "engagement", engagement.id),
    )


@router.post("/jobs/{job_id:uuid}/applications", status_code=201, response_model=ApplicationOut)
async def apply(
    job_id: uuid.UUID,
    body: ApplyIn,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("worker")),
) -> ApplicationOut:
    """The calling worker applies for an open job (409 if not open, already applied, or the
    worker is suspended, has left or is excluded by credit)."""
    if principal.party_id is None:
        raise NotFound("candidate", "caller")
    with conflict_on_race("The worker already has an application for this job"):
        async with ctx.db.write() as session:
            application = await hiring.open_application(
                session, principal, job_id, principal.party_id, "applied", body.fair_id
            )
            out = await application_out(session, application)
    response.headers["Location"] = f"/api/v1/applications/{out.id}"
    return out


@router.post("/jobs/{job_id:uuid}/invitations", status_code=201, response_model=ApplicationOut)
async def invite(
    job_id: uuid.UUID,
    body: InviteIn,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(ACTORS),
) -> ApplicationOut:
    """The job's poster invites a worker (an application in status "invited")."""
    with conflict_on_race("The worker already has an application for this job"):
        async with ctx.db.write() as session:
            application = await hiring.open_application(
                session, principal, job_id, body.worker_id, "invited", body.fair_id
            )
            out = await application_out(session, application)
    response.headers["Location"] = f"/api/v1/applications/{out.id}"
    return out


@router.get("/applications", response_model=Page[ApplicationOut])
async def list_applications(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTIES),
    job_id: uuid.UUID | None = Query(None),
    status: ApplicationStatus | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[ApplicationOut]:
    """Applications the caller is party to, oldest first: a worker's own, a poster's on
    their jobs, all for staff."""
    query = select(Application)
    if principal.role == "worker":
        query = query.where(Application.worker_id == principal.party_id)
    elif not principal.is_privileged:
        query = query.join(Job, Job.id == Application.job_id).where(
            Job.poster_role == principal.role, Job.poster_party_id == principal.party_id
        )
    if job_id is not None:
        query = query.where(Application.job_id == job_id)
    if status is not None:
        query = query.where(Application.status == status)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, Application.id, cursor, limit)
        items = [await application_out(session, a) for a in rows]
    return Page[ApplicationOut](items=items, next_cursor=next_cursor)


@router.get("/applications/{application_id:uuid}", response_model=ApplicationOut)
async def get_application(
    application_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTIES),
) -> Response:
    """One application with its history: for the worker, the job's poster and staff."""
    async with ctx.db.read() as session:
        application, _ = await hiring.get_application(session, principal, application_id)
        out = await application_out(session, application)
    return conditional_json(request, out, etag_for(application.id, application.version))


@router.post("/applications/{application_id:uuid}/actions", response_model=ApplicationOut)
async def act_on_application(
    application_id: uuid.UUID,
    body: ApplicationActionIn,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(ACTORS),
) -> ApplicationOut:
    """Move an application. The poster: ``shortlist``, ``interview`` (with time and place
    or online link), ``offer`` (with start date, pay, terms), ``reject``. The worker:
    ``apply`` (to an invitation), ``accept`` (an offer: creates the engagement), ``decline``,
    ``withdraw``. A move the life cycle does not allow from the current status, or by the
    other side, is a 409 naming the current status."""
    async with ctx.db.write() as session:
        application = await hiring.act(session, principal, application_id, body)
        return await application_out(session, application)


@router.get("/engagements", response_model=Page[EngagementOut])
async def list_engagements(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTIES),
    status: EngagementStatus | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[EngagementOut]:
    """Engagements the caller is party to (worker, poster), all for staff; oldest first."""
    query = select(Engagement)
    if principal.role == "worker":
        query = query.where(Engagement.worker_id == principal.party_id)
    elif not principal.is_privileged:
        query = query.where(
            Engagement.poster_role == principal.role,
            Engagement.poster_party_id == principal.party_id,
        )
    if status is not None:
        query = query.where(Engagement.status == status)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, Engagement.id, cursor, limit)
        items = [await engagement_out(session, e) for e in rows]
    return Page[EngagementOut](items=items, next_cursor=next_cursor)


@router.get("/engagements/{engagement_id:uuid}", response_model=EngagementOut)
async def get_engagement(
    engagement_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(PARTIES),
) -> Response:
    """One engagement with its history: for the worker, the poster and staff."""
    async with ctx.db.read() as session:
        engagement = await hiring.get_engagement(session, principal, engagement_id)
        out = await engagement_out(session, engagement)
    return conditional_json(request, out, etag_for(engagement.id, engagement.version))


@router.post("/engagements/{engagement_id:uuid}/start", response_model=EngagementOut)
async def start_engagement(
    engagement_id: uuid.UUID,
    body: CancelIn,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "employer", "company", scopes=[SCOPE])),
) -> EngagementOut:
    """The poster marks a scheduled engagement started: emits
    ``matching.engagement.started``. 409 unless scheduled."""
    async with ctx.db.write() as session:
        engagement = await hiring.start(session, principal, engagement_id, body.note)
        return await engagement_out(session, engagement)


@router.post("/engagements/{engagement_id:uuid}/finish", response_model=EngagementOut)
async def finish_engagement(
    engagement_id: uuid.UUID,
    body: FinishIn,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "employer", "company", scopes=[SCOPE])),
) -> EngagementOut:
    """The poster marks an active engagement finished on ``end_date``: emits
    ``matching.engagement.finished`` (from which the employer may review the worker).
    409 unless active."""
    async with ctx.db.write() as session:
        engagement = await hiring.finish(
            session, principal, engagement_id, body.end_date, body.note
        )
        return await engagement_out(session, engagement)


@router.post("/engagements/{engagement_id:uuid}/cancel", response_model=EngagementOut)
async def cancel_engagement(
    engagement_id: uuid.UUID,
    body: CancelIn,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(ACTORS),
) -> EngagementOut:
    """Call off a scheduled engagement (the poster or the worker); 409 once started."""
    async with ctx.db.write() as session:
        engagement = await hiring.cancel(session, principal, engagement_id, body.note)
        return await engagement_out(session, engagement)


__all__ = ["jobs", "router"]
