"""Assessment routes under /api/v1/assessments: the published star policy, assessment years,
appeals, and a worker's own view of their levels."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, authenticated
from services.kit.principal import Principal, forbidden
from services.kit.types import utcnow
from services.rating import appeals, assessment, policies, scoring
from services.rating.api import level_out
from services.rating.assessment_schemas import (
    AppealCreate,
    AppealDecision,
    AppealOut,
    PublicationOut,
    WorkerAssessmentOut,
    YearCreate,
    YearOut,
)
from services.rating.models import (
    Appeal,
    AssessmentYear,
    LevelPublication,
    StarPolicyRow,
    WorkerLevel,
)
from services.rating.policy_schemas import StarPolicyCreate, StarPolicyOut
from services.rating.schemas import MAX_YEAR, MIN_YEAR, ContributionOut

router = APIRouter(prefix="/api/v1/assessments", tags=["assessments"])

YearPath = Path(ge=MIN_YEAR, le=MAX_YEAR)


def policy_out(row: StarPolicyRow) -> StarPolicyOut:
    return StarPolicyOut(
        version=row.version,
        rules=policies.rules_of(row),
        published_at=row.published_at,
        note=row.note,
    )


def year_out(row: AssessmentYear) -> YearOut:
    return YearOut(
        year=row.year,
        status=row.status,  # type: ignore[arg-type]
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        policy_version=row.policy_version,
        published=row.published,
    )


def appeal_out(appeal: Appeal) -> AppealOut:
    return AppealOut(
        id=appeal.id,
        worker_id=appeal.worker_id,
        year=appeal.year,
        rating_id=appeal.score_id,
        reason=appeal.reason,
        filed_at=appeal.filed_at,
        decide_by=appeal.decide_by,
        overdue=appeal.status == "pending" and utcnow() > appeal.decide_by,
        status=appeal.status,  # type: ignore[arg-type]
        decided_at=appeal.decided_at,
        decision_reason=appeal.decision_reason,
    )


# --- the published policy -------------------------------------------------------------------


@router.get("/policy", response_model=StarPolicyOut)
async def get_current_policy(
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(authenticated()),
) -> Response:
    """The star policy in force: weights, thresholds, minimum reviews, how absent sources
    count, the review and appeal periods and the anti-abuse rules, with its version."""
    async with ctx.db.read() as session:
        row = await policies.current(session)
    return conditional_json(request, policy_out(row), etag_for("policy", row.version))


@router.get("/policies/{version}", response_model=StarPolicyOut)
async def get_policy(
    request: Request,
    version: int = Path(ge=1, le=1_000_000),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(authenticated()),
) -> Response:
    """One published version of the star policy (levels record the version they used)."""
    async with ctx.db.read() as session:
        row = await policies.get(session, version)
    return conditional_json(request, policy_out(row), etag_for("policy", row.version))


@router.post("/policies", status_code=201, response_model=StarPolicyOut)
async def publish_policy(
    body: StarPolicyCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("officer")),
) -> StarPolicyOut:
    """Publish the next version of the star policy (officers). It applies from now on: to
    provisional levels, closings and recomputes; published levels keep their version."""
    async with ctx.db.write() as session:
        row = await policies.publish_policy(session, body, principal.subject)
    response.headers["Location"] = f"/api/v1/assessments/policies/{row.version}"
    return policy_out(row)


# --- assessment years -------------------------------------------------------------------------


@router.post("/years", status_code=201, response_model=YearOut)
async def open_year(
    body: YearCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("officer")),
) -> YearOut:
    """Open an assessment year (officers): scores for it are taken from now until it closes.
    409 if the year was opened before."""
    async with ctx.db.write() as session:
        row = await assessment.open_year(session, body.year, principal.subject, utcnow())
    response.headers["Location"] = f"/api/v1/assessments/years/{row.year}"
    return year_out(row)


@router.get("/years", response_model=list[YearOut])
async def list_years(
    ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(authenticated())
) -> list[YearOut]:
    """Every assessment year, latest first."""
    async with ctx.db.read() as session:
        rows = (
            await session.scalars(select(AssessmentYear).order_by(AssessmentYear.year.desc()))
        ).all()
    return [year_out(r) for r in rows]


@router.get("/years/{year}", response_model=YearOut)
async def get_year(
    request: Request,
    year: int = YearPath,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(authenticated()),
) -> Response:
    """One assessment year: open or closed, and what its closing published."""
    async with ctx.db.read() as session:
        row = await assessment.get_year(session, year)
    return conditional_json(request, year_out(row), etag_for(row.year, row.status))


@router.post("/years/{year}/close", response_model=YearOut)
async def close_year(
    year: int = YearPath,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("officer")),
) -> YearOut:
    """Close the year (officers): every worker's level is computed from the year's counted
    evidence with the current policy, published with its version, and announced as
    ``rating.worker.changed``. 409 if already closed; scores for it are refused from now."""
    async with ctx.db.write() as session:
        row = await assessment.close_year(session, year, principal.subject, utcnow())
    return year_out(row)


# --- appeals ------------------------------------------------------------------------------


@router.post("/appeals", status_code=201, response_model=AppealOut)
async def file_appeal(
    body: AppealCreate,
    response: Response,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("worker")),
) -> AppealOut:
    """A worker appeals their published level of a year or one score of theirs. Once the year
    is closed, appeals are taken until the ``appeal_window_days`` of the policy version their
    latest publication recorded; after that, 409 ``appeal-window-closed`` (with
    ``appeal_deadline`` and ``policy_version``). 409 also while the same appeal is pending, or
    when nothing is published yet; 404 for a score that is not theirs."""
    if principal.party_id is None:
        raise forbidden("Only a worker's own account may appeal")
    async with ctx.db.write() as session:
        appeal = await appeals.file_appeal(
            session,
            principal.party_id,
            body.year,
            body.rating_id,
            body.reason,
            principal.subject,
            utcnow(),
        )
    response.headers["Location"] = f"/api/v1/assessments/appeals/{appeal.id}"
    return appeal_out(appeal)


@router.get("/appeals", response_model=Page[AppealOut])
async def list_appeals(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "worker")),
    status: str | None = Query(None, pattern="^(pending|upheld|rejected)$"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[AppealOut]:
    """Appeals, oldest first: officers and admins all (each with its deadline), a worker
    their own."""
    query = select(Appeal)
    if not principal.is_privileged:
        if principal.party_id is None:
            return Page[AppealOut](items=[], next_cursor=None)
        query = query.where(Appeal.worker_id == principal.party_id)
    if status is not None:
        query = query.where(Appeal.status == status)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, Appeal.id, cursor, limit)
    return Page[AppealOut](items=[appeal_out(a) for a in rows], next_cursor=next_cursor)


@router.get("/appeals/{appeal_id}", response_model=AppealOut)
async def get_appeal(
    appeal_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "worker")),
) -> Response:
    """One appeal with its deadline and decision: for officers, admins and the appellant
    (404 for anyone else)."""
    async with ctx.db.read() as session:
        appeal = await session.get(Appeal, appeal_id)
    if appeal is None or not (principal.is_privileged or principal.acts_for(appeal.worker_id)):
        raise NotFound("appeal", appeal_id)
    out = appeal_out(appeal)
    return conditional_json(request, out, etag_for(appeal.id, appeal.status, out.overdue))


@router.post("/appeals/{appeal_id}/decision", response_model=AppealOut)
async def decide_appeal(
    appeal_id: uuid.UUID,
    body: AppealDecision,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow("officer")),
) -> AppealOut:
    """An officer upholds or rejects an appeal, once (409 after). Upholding a score appeal
    hides the score; an upheld appeal recomputes the level and republishes it."""
    async with ctx.db.write() as session:
        appeal = await session.get(Appeal, appeal_id, with_for_update=True)
        if appeal is None:
            raise NotFound("appeal", appeal_id)
        await appeals.decide(
            session, appeal, body.outcome, body.reason, principal.subject, utcnow()
        )
    return appeal_out(appeal)


# --- the worker's own view ------------------------------------------------------------------


@router.get("/workers/{worker_id}", response_model=WorkerAssessmentOut)
async def get_worker_assessment(
    worker_id: uuid.UUID,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "worker")),
) -> Response:
    """The worker's own view (and officers'): each year's level, provisional or published,
    with the policy version and each source's contribution (they sum to the score), and the
    history of publications. 404 for another worker."""
    if not (principal.is_privileged or principal.acts_for(worker_id)):
        raise NotFound("worker assessment", worker_id)
    async with ctx.db.read() as session:
        levels = (
            await session.scalars(
                select(WorkerLevel)
                .where(WorkerLevel.worker_id == worker_id)
                .order_by(WorkerLevel.year.desc())
            )
        ).all()
        history = (
            await session.scalars(
                select(LevelPublication)
                .where(LevelPublication.worker_id == worker_id)
                .order_by(LevelPublication.published_at, LevelPublication.id)
            )
        ).all()
    out = WorkerAssessmentOut(
        worker_id=worker_id,
        levels=[level_out(level) for level in levels],
        history=[
            PublicationOut(
                year=p.year,
                stars=p.stars,
                score=float(scoring.from_hundredths(p.score_hundredths)),
                policy_version=p.policy_version,
                reason=p.reason,  # type: ignore[arg-type]
                appeal_id=p.appeal_id,
                explanation=[ContributionOut(**c) for c in assessment.explanation(p.contributions)],
                published_at=p.published_at,
            )
            for p in history
        ],
    )
    etag = etag_for(worker_id, [(lv.year, lv.version) for lv in levels], [p.id for p in history])
    return conditional_json(request, out, etag)
