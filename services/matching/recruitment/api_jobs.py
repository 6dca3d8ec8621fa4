"""Job routes: post (single, partner bulk), the job board, status, matches with reasons,
"jobs for me", the worker's preferences and the match policy."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from sqlalchemy import and_, or_, select

from contracts.common import City, Track
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import InvalidField, NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching import queries, ranking, service
from services.matching.models import Candidate, MatchingPolicy
from services.matching.policy import Weights, current_policy
from services.matching.recruitment import jobs
from services.matching.recruitment.history import conflict_on_race
from services.matching.recruitment.models import Job
from services.matching.recruitment.schemas import (
    BulkJobs,
    BulkReport,
    JobIn,
    JobMatchItem,
    JobOut,
    JobsForMe,
    JobStatus,
    JobStatusChange,
    MatchItem,
    MatchPolicyOut,
    MatchResult,
    PreferencesIn,
    PreferencesOut,
    ReasonOut,
)

router = APIRouter(prefix="/api/v1", tags=["jobs"])

JOB_READERS = allow(*STAFF, "worker", "employer", "company", scopes=["jobs:read"])
JOB_WRITERS = allow("employer", "company", scopes=["jobs:write"])


def _etag_of(payload: Any) -> str:
    return etag_for(repr(jsonable_encoder(payload)))


@router.post(
    "/jobs",
    status_code=201,
    response_model=JobOut,
    responses={200: {"model": JobOut, "description": "A partner's repost of a known job id"}},
)
async def post_job(
    body: JobIn,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(JOB_WRITERS),
) -> JobOut:
    """Post a job as the calling employer, company or partner platform (``jobs:write``).
    Partners send their own ``external_id``: posting it again updates the job (200) or
    leaves it as it is when nothing changed (200)."""
    with conflict_on_race("The same job was posted at the same moment; send it again"):
        async with ctx.db.write() as session:
            posted = await jobs.post_job(session, principal, body)
            out = jobs.job_out(posted.job)
    response.status_code = 201 if posted.outcome == "created" else 200
    response.headers["Location"] = f"/api/v1/jobs/{out.id}"
    return out


@router.post("/jobs/bulk", response_model=BulkReport)
async def post_jobs_bulk(
    body: BulkJobs,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(scopes=["jobs:write"])),
) -> BulkReport:
    """Partner bulk upload (up to 500 rows, each with the partner's ``external_id``):
    idempotent per row by that id; the report says for each row created, updated, unchanged
    or error (with the fields at fault). Good rows land even when others are refused."""
    with conflict_on_race("The same jobs were posted at the same moment; send them again"):
        async with ctx.db.write() as session:
            return await jobs.post_bulk(session, principal, body.jobs)


@router.get("/jobs", response_model=Page[JobOut])
async def list_jobs(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(JOB_READERS),
    track: Track | None = Query(None),
    city: City | None = Query(None),
    mine: bool = Query(False, description="Only the caller's own jobs, of any status"),
    status: JobStatus | None = Query(None, description="With mine (or for staff) only"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[JobOut]:
    """The always-open job board (the "24-hour online fair"): open jobs, newest first. With
    ``mine`` the caller's own jobs of any status; staff may filter any status."""
    query = select(Job)
    if mine:
        query = query.where(
            Job.poster_role == principal.role, Job.poster_party_id == principal.party_id
        )
    if status is not None and not (mine or principal.is_privileged) and status != "open":
        raise InvalidField("status", "the board shows open jobs; use mine=true for your own")
    now = utcnow()
    if (mine or principal.is_privileged) and status is not None:
        # As readers see it: an open job past its expiry is expired before the sweep says so.
        if status == "open":
            query = query.where(jobs.open_now(now))
        elif status == "paused":
            query = query.where(Job.status == "paused", ~jobs.past_expiry(now))
        elif status == "expired":
            query = query.where(
                or_(
                    Job.status == "expired",
                    and_(Job.status.in_(jobs.EXPIRABLE), jobs.past_expiry(now)),
                )
            )
        else:
            query = query.where(Job.status == status)
    elif not mine:
        query = query.where(jobs.open_now(now))
    if track is not None:
        query = query.where(Job.track == track)
    if city is not None:
        query = query.where(Job.city == city)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session, query, Job.id, cursor, limit, descending=True
        )
    return Page[JobOut](items=[jobs.job_out(j) for j in rows], next_cursor=next_cursor)


def _visible(principal: Principal, job: Job) -> bool:
    return (
        jobs.status_of(job, utcnow()) == "open"
        or principal.is_privileged
        or jobs.is_poster(principal, job)
    )


@router.get("/jobs/{job_id:uuid}", response_model=JobOut)
async def get_job(
    job_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(JOB_READERS),
) -> Response:
    """One job: open jobs for every reader; other statuses for the poster and staff."""
    async with ctx.db.read() as session:
        job = await jobs.get_job(session, job_id)
    if not _visible(principal, job):
        raise NotFound("job", job_id)
    return conditional_json(request, jobs.job_out(job), etag_for(job.id, job.version))


@router.post("/jobs/{job_id:uuid}/status", response_model=JobOut)
async def change_job_status(
    job_id: uuid.UUID,
    body: JobStatusChange,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "employer", "company", scopes=["jobs:write"])),
) -> JobOut:
    """Pause, reopen, mark filled or close a job (its poster, or staff); 409 for a move the
    life cycle does not allow (a closed job stays closed)."""
    async with ctx.db.write() as session:
        job = await jobs.change_status(session, principal, job_id, body.status, body.note)
        return jobs.job_out(job)


def _reasons(reasons: list[Any]) -> list[ReasonOut]:
    return [ReasonOut(factor=r.factor, points=r.points, detail=r.detail) for r in reasons]


@router.get("/jobs/{job_id:uuid}/matches", response_model=MatchResult)
async def match_job(
    job_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(
        allow(*STAFF, "employer", "company", scopes=["candidates:read"])
    ),
    limit: int = Query(20, ge=1, le=50),
) -> Response:
    """Ranked candidates for the caller's job (or any job, for staff): hard filters first
    (track, certificate where required, minimum stars, available, not suspended or left, not
    red-carded or blacklisted, the worker's consent when a partner posted), then the score,
    each result with its reasons and the policy version that scored it."""
    as_of = queries.today_in_china()
    async with ctx.db.read() as session:
        job = await jobs.get_job(session, job_id)
        if not (principal.is_privileged or jobs.is_poster(principal, job)):
            raise NotFound("job", job_id)
        policy = await current_policy(session)
        best, read = await ranking.match_job(session, job, policy, as_of=as_of, limit=limit)
        views = await queries.load_views(session, [s.worker_id for s in best])
    items = [
        MatchItem(
            worker_id=s.worker_id,
            name=views[s.worker_id].candidate.name or "",
            county=views[s.worker_id].candidate.county,  # type: ignore[arg-type]
            stars=views[s.worker_id].candidate.stars,
            guarantee_mark=views[s.worker_id].candidate.list_status == "red",
            score=s.score,
            reasons=_reasons(s.reasons),
        )
        for s in best
        if s.worker_id in views
    ]
    result = MatchResult(
        job_id=job.id, policy_version=policy.version, as_of=as_of, rows_read=read, items=items
    )
    return conditional_json(request, result, _etag_of(result.items))


@router.get("/candidates/{worker_id}/jobs", response_model=JobsForMe)
async def jobs_for_me(
    worker_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "worker")),
    limit: int = Query(20, ge=1, le=50),
) -> Response:
    """ "Jobs for me": open jobs the worker passes the hard filters of, best first, each with
    why it was suggested. The worker themself, or staff."""
    if principal.role == "worker" and not principal.acts_for(worker_id):
        raise NotFound("candidate", worker_id)
    as_of = queries.today_in_china()
    async with ctx.db.read() as session:
        view = await queries.get_view(session, worker_id)
        if view is None:
            raise NotFound("candidate", worker_id)
        policy = await current_policy(session)
        items: list[JobMatchItem] = []
        if ranking.is_eligible(policy.weights, view.candidate):
            tracks = view.tracks(as_of)
            open_jobs = (
                await session.scalars(
                    select(Job)
                    .where(jobs.open_now(utcnow()), Job.track.in_(tracks))
                    .order_by(Job.id.desc())
                    .limit(500)
                )
            ).all()
            scored = await ranking.jobs_for_worker(
                session, view, policy, as_of=as_of, limit=limit, open_jobs=open_jobs
            )
            items = [
                JobMatchItem(job=jobs.job_out(s.job), score=s.score, reasons=_reasons(s.reasons))
                for s in scored
            ]
    result = JobsForMe(worker_id=worker_id, policy_version=policy.version, as_of=as_of, items=items)
    return conditional_json(request, result, _etag_of(result.items))


@router.put("/candidates/{worker_id}/preferences", response_model=PreferencesOut)
async def put_preferences(
    worker_id: uuid.UUID,
    body: PreferencesIn,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("worker")),
) -> PreferencesOut:
    """The worker's own preferences: cities, the least pay they accept, live-in or not
    (live-in refused is a hard filter; cities and pay add to the score)."""
    if not principal.acts_for(worker_id):
        raise NotFound("candidate", worker_id)
    async with ctx.db.write() as session:
        known = await session.scalar(
            select(Candidate.worker_id).where(
                Candidate.worker_id == worker_id, Candidate.name.is_not(None)
            )
        )
        if known is None:
            raise NotFound("candidate", worker_id)
        await service.set_preferences(
            session,
            worker_id,
            preferred_cities=body.preferred_cities,
            expected_pay_min=body.expected_pay_min,
            accepts_live_in=body.accepts_live_in,
        )
    return PreferencesOut(worker_id=worker_id, **body.model_dump())


@router.get("/match-policy", response_model=MatchPolicyOut)
async def get_match_policy(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(
        allow(*STAFF, "worker", "employer", "company", scopes=["candidates:read"])
    ),
) -> MatchPolicyOut:
    """The match-score policy in force (weights of every factor, the hard-filter lists);
    every match result names the version that scored it."""
    async with ctx.db.read() as session:
        row = await session.scalar(
            select(MatchingPolicy).order_by(MatchingPolicy.version.desc()).limit(1)
        )
    if row is None:
        raise NotFound("match policy", "current")
    out = MatchPolicyOut.model_validate(row, from_attributes=True)
    # The weights in force, defaults of factors newer than the stored version included.
    out.weights = Weights.model_validate(row.weights).model_dump()
    return out
