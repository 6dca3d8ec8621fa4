"""Recruitment fairs (专场招聘): dedicated fairs with their employers' jobs, worker sign-ups,
on-site check-in and results; the always-open online board's statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import City
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict, NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.ids import new_id
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching.recruitment import jobs
from services.matching.recruitment.models import Application, Fair, FairJob, FairSignup, Job
from services.matching.recruitment.schemas import IsoDate

router = APIRouter(prefix="/api/v1", tags=["fairs"])

READERS = allow(*STAFF, "worker", "employer", "company", scopes=["jobs:read"])


class FairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, examples=["深圳家政专场招聘会"])
    city: City
    association: str | None = Field(None, min_length=1, max_length=200)
    fair_date: IsoDate
    venue: str | None = Field(
        None, min_length=1, max_length=300, description="Where it is held; null = online"
    )


class FairOut(BaseModel):
    id: uuid.UUID
    title: str
    city: City
    association: str | None
    fair_date: date
    venue: str | None
    online: bool
    created_at: datetime


class FairJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: uuid.UUID


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: uuid.UUID


class FairResults(BaseModel):
    fair_id: uuid.UUID
    jobs: int
    employers: int
    signups: int
    checked_in: int
    applications: int
    offers: int
    hires: int


class BoardStats(BaseModel):
    open_jobs: int
    open_jobs_by_track: dict[str, int]
    applications_last_24h: int
    hires_last_24h: int
    as_of: datetime


def _out(fair: Fair) -> FairOut:
    return FairOut.model_validate(fair, from_attributes=True)


async def _fair(session: AsyncSession, fair_id: uuid.UUID) -> Fair:
    fair = await session.get(Fair, fair_id)
    if fair is None:
        raise NotFound("fair", fair_id)
    return fair


@router.post("/fairs", status_code=201, response_model=FairOut)
async def create_fair(
    body: FairIn,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> FairOut:
    """Officers announce a dedicated fair (city, partner association, date, venue or online)."""
    fair = Fair(
        id=new_id(),
        created_by=principal.subject,
        created_at=utcnow(),
        online=body.venue is None,
        **body.model_dump(),
    )
    async with ctx.db.write() as session:
        session.add(fair)
    response.headers["Location"] = f"/api/v1/fairs/{fair.id}"
    return _out(fair)


@router.get("/fairs", response_model=Page[FairOut])
async def list_fairs(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(READERS),
    city: City | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[FairOut]:
    """Fairs, newest announced first."""
    query = select(Fair)
    if city is not None:
        query = query.where(Fair.city == city)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session, query, Fair.id, cursor, limit, descending=True
        )
    return Page[FairOut](items=[_out(f) for f in rows], next_cursor=next_cursor)


@router.get("/fairs/online/stats", response_model=BoardStats)
async def online_board_stats(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(READERS),
) -> BoardStats:
    """The 24-hour online fair (the always-open job board): open jobs per track, and
    applications and hires of the last 24 hours."""
    now = utcnow()
    since = now - timedelta(hours=24)
    async with ctx.db.read() as session:
        by_track = dict(
            (
                await session.execute(
                    select(Job.track, func.count()).where(jobs.open_now(now)).group_by(Job.track)
                )
            ).all()
        )
        applications = await session.scalar(
            select(func.count()).select_from(Application).where(Application.created_at >= since)
        )
        hires = await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.status == "hired", Application.updated_at >= since)
        )
    return BoardStats(
        open_jobs=sum(by_track.values()),
        open_jobs_by_track={str(k): int(v) for k, v in by_track.items()},
        applications_last_24h=int(applications or 0),
        hires_last_24h=int(hires or 0),
        as_of=now,
    )


@router.get("/fairs/{fair_id:uuid}", response_model=FairOut)
async def get_fair(
    fair_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(READERS),
) -> Response:
    """One fair."""
    async with ctx.db.read() as session:
        fair = await _fair(session, fair_id)
    return conditional_json(request, _out(fair), etag_for(fair.id))


@router.post("/fairs/{fair_id:uuid}/jobs", status_code=201, response_model=FairJobIn)
async def add_fair_job(
    fair_id: uuid.UUID,
    body: FairJobIn,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("employer", "company", scopes=["jobs:write"])),
) -> FairJobIn:
    """A participating employer, company or partner brings one of its own jobs to the fair."""
    async with ctx.db.write() as session:
        await _fair(session, fair_id)
        job = await jobs.get_job(session, body.job_id)
        if not jobs.is_poster(principal, job):
            raise NotFound("job", body.job_id)
        if await session.get(FairJob, (fair_id, job.id)) is None:
            session.add(FairJob(fair_id=fair_id, job_id=job.id, added_at=utcnow()))
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return body


@router.get("/fairs/{fair_id:uuid}/jobs", response_model=list[uuid.UUID])
async def list_fair_jobs(
    fair_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(READERS),
) -> list[uuid.UUID]:
    """Ids of the jobs at the fair (read each at /jobs/{id})."""
    async with ctx.db.read() as session:
        await _fair(session, fair_id)
        return list(
            (
                await session.scalars(
                    select(FairJob.job_id)
                    .where(FairJob.fair_id == fair_id)
                    .order_by(FairJob.job_id)
                )
            ).all()
        )


@router.post("/fairs/{fair_id:uuid}/signups", status_code=201, response_model=CheckInIn)
async def sign_up(
    fair_id: uuid.UUID,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("worker")),
) -> CheckInIn:
    """The calling worker signs up for the fair (again: no change)."""
    if principal.party_id is None:
        raise NotFound("candidate", "caller")
    async with ctx.db.write() as session:
        await _fair(session, fair_id)
        if await session.get(FairSignup, (fair_id, principal.party_id)) is None:
            session.add(
                FairSignup(fair_id=fair_id, worker_id=principal.party_id, signed_up_at=utcnow())
            )
    response.headers["Location"] = f"/api/v1/fairs/{fair_id}"
    return CheckInIn(worker_id=principal.party_id)


@router.post("/fairs/{fair_id:uuid}/checkins", response_model=CheckInIn)
async def check_in(
    fair_id: uuid.UUID,
    body: CheckInIn,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> CheckInIn:
    """On-site check-in of a signed-up worker by the fair's staff; 409 without a sign-up."""
    async with ctx.db.write() as session:
        await _fair(session, fair_id)
        signup = await session.get(FairSignup, (fair_id, body.worker_id), with_for_update=True)
        if signup is None:
            raise Conflict("The worker has not signed up for this fair", slug="not-signed-up")
        signup.checked_in_at = signup.checked_in_at or utcnow()
    return body


@router.get("/fairs/{fair_id:uuid}/results", response_model=FairResults)
async def fair_results(
    fair_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> Response:
    """Results of a fair: jobs and employers, sign-ups and check-ins, and the applications,
    offers and hires that came from it (tagged with the fair, or on its jobs)."""
    async with ctx.db.read() as session:
        await _fair(session, fair_id)
        fair_jobs = select(FairJob.job_id).where(FairJob.fair_id == fair_id)
        job_count, employers = (
            await session.execute(
                select(func.count(), func.count(func.distinct(Job.poster_party_id))).where(
                    Job.id.in_(fair_jobs)
                )
            )
        ).one()
        signups, checked = (
            await session.execute(
                select(func.count(), func.count(FairSignup.checked_in_at)).where(
                    FairSignup.fair_id == fair_id
                )
            )
        ).one()
        from_fair = or_(Application.fair_id == fair_id, Application.job_id.in_(fair_jobs))
        applications, offers, hires = (
            await session.execute(
                select(
                    func.count(),
                    func.count(Application.offer),
                    func.count().filter(Application.status == "hired"),
                ).where(from_fair)
            )
        ).one()
    result = FairResults(
        fair_id=fair_id,
        jobs=job_count,
        employers=employers,
        signups=signups,
        checked_in=checked,
        applications=applications,
        offers=offers,
        hires=hires,
    )
    return conditional_json(request, result, etag_for(*result.model_dump().values()))
