"""Entrepreneurship routes under /api/v1/ventures.

The founder (a worker) creates and moves their project, asks for financing matchmaking,
claims the start-up subsidy and enters the 众创杯; the programme's officers record guidance
sessions, refer the project to incubators, training bases or investors (项目推介) and record
the answer, move financing requests, review and pay the subsidy and record contest results.
A project is visible to its founder and to officers; anyone else's is 404.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query
from sqlalchemy import false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal, forbidden
from services.training.ventures import service as ventures
from services.training.ventures.models import (
    ContestEntry,
    FinancingRequest,
    GuidanceSession,
    Referral,
    StartupSubsidyClaim,
    Venture,
    VenturePolicy,
)
from services.training.ventures.schemas import (
    ContestEntryCreate,
    ContestEntryOut,
    ContestResultRecord,
    FinancingCreate,
    FinancingOut,
    FinancingUpdate,
    GuidanceCreate,
    GuidanceOut,
    ReferralAnswer,
    ReferralCreate,
    ReferralOut,
    StageChange,
    StartupSubsidyOut,
    SubsidyPayment,
    SubsidyReview,
    VentureCreate,
    VentureOut,
    VenturePolicyCreate,
    VenturePolicyHistory,
    VenturePolicyOut,
)

router = APIRouter(prefix="/api/v1", tags=["entrepreneurship"])

FOUNDER_OR_STAFF = allow(*STAFF, "worker")
OFFICERS = allow(*STAFF)


def policy_out(policy: VenturePolicy) -> VenturePolicyOut:
    return VenturePolicyOut(
        version=policy.version,
        startup_subsidy_amount=policy.startup_subsidy_amount,
        subsidy_min_stage=policy.subsidy_min_stage,  # type: ignore[arg-type]
        created_at=policy.created_at,
    )


def guidance_out(row: GuidanceSession) -> GuidanceOut:
    return GuidanceOut(
        id=row.id,
        mentor_name=row.mentor_name,
        held_on=row.held_on,
        notes=row.notes,
        recorded_at=row.recorded_at,
    )


def referral_out(row: Referral) -> ReferralOut:
    return ReferralOut(
        id=row.id,
        to_kind=row.to_kind,  # type: ignore[arg-type]
        to_name=row.to_name,
        base_id=row.base_id,
        status=row.status,  # type: ignore[arg-type]
        note=row.note,
        referred_at=row.referred_at,
        answered_at=row.answered_at,
    )


def financing_out(row: FinancingRequest) -> FinancingOut:
    return FinancingOut(
        id=row.id,
        lender_kind=row.lender_kind,  # type: ignore[arg-type]
        lender_name=row.lender_name,
        amount=row.amount,
        status=row.status,  # type: ignore[arg-type]
        note=row.note,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def subsidy_out(row: StartupSubsidyClaim) -> StartupSubsidyOut:
    return StartupSubsidyOut(
        id=row.id,
        amount=row.amount,
        policy_version=row.policy_version,
        status=row.status,  # type: ignore[arg-type]
        reason=row.reason,
        filed_at=row.filed_at,
        reviewed_at=row.reviewed_at,
        paid_at=row.paid_at,
    )


def entry_out(row: ContestEntry) -> ContestEntryOut:
    return ContestEntryOut(
        id=row.id,
        contest_year=row.contest_year,
        result=row.result,  # type: ignore[arg-type]
        award=row.award,
        entered_at=row.entered_at,
        judged_at=row.judged_at,
    )


async def _venture_out(ctx: ServiceContext, venture: Venture) -> VentureOut:
    async with ctx.db.read() as session:
        guidance, referrals, financing, claim, entries = await ventures.details(session, venture.id)
    return VentureOut(
        id=venture.id,
        worker_id=venture.worker_id,
        name=venture.name,
        idea=venture.idea,
        stage=venture.stage,  # type: ignore[arg-type]
        county=venture.county,
        created_at=venture.created_at,
        version=venture.version,
        guidance=[guidance_out(g) for g in guidance],
        referrals=[referral_out(r) for r in referrals],
        financing=[financing_out(f) for f in financing],
        startup_subsidy=subsidy_out(claim) if claim else None,
        contest_entries=[entry_out(e) for e in entries],
    )


async def _own(session: AsyncSession, principal: Principal, venture_id: uuid.UUID) -> Venture:
    """The venture, locked, if the caller is its founder or an officer (else 404)."""
    venture = await ventures.get(session, venture_id, for_update=True)
    if not (principal.is_privileged or principal.acts_for(venture.worker_id)):
        raise NotFound("venture", venture_id)
    return venture


@router.get(
    "/ventures/policy", response_model=VenturePolicyHistory, dependencies=[Depends(public())]
)
async def get_venture_policy(ctx: ServiceContext = Depends(get_ctx)) -> VenturePolicyHistory:
    """The start-up support policy in force (subsidy amount, earliest stage) and earlier
    versions. Public."""
    async with ctx.db.read() as session:
        versions = await ventures.policies(session)
    return VenturePolicyHistory(
        current=policy_out(versions[-1]) if versions else None,
        versions=[policy_out(p) for p in versions],
    )


@router.post("/ventures/policy", status_code=201, response_model=VenturePolicyOut)
async def publish_venture_policy(
    body: VenturePolicyCreate,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> VenturePolicyOut:
    """Publish the next start-up support policy version. Officers only."""
    try:
        async with ctx.db.write() as session:
            policy = await ventures.publish_policy(session, body, principal.subject)
    except IntegrityError as exc:
        raise Conflict(
            "Another policy version was published at the same time; read it and retry",
            slug="policy-version-taken",
        ) from exc
    return policy_out(policy)


@router.post("/ventures", status_code=201, response_model=VentureOut)
async def create_venture(
    body: VentureCreate,
    principal: Principal = Depends(FOUNDER_OR_STAFF),
    ctx: ServiceContext = Depends(get_ctx),
) -> VentureOut:
    """Register a business project: a worker their own (``worker_id`` may be left out),
    officers anyone's."""
    worker_id = body.worker_id
    if principal.role == "worker":
        if principal.party_id is None or worker_id not in (None, principal.party_id):
            raise forbidden("A worker may register only their own project")
        worker_id = principal.party_id
    elif worker_id is None:
        raise InvalidField("worker_id", "name the founder", slug="missing-worker")
    async with ctx.db.write() as session:
        venture = await ventures.create(session, body, worker_id)
    return await _venture_out(ctx, venture)


@router.get("/ventures", response_model=Page[VentureOut])
async def list_ventures(
    principal: Principal = Depends(FOUNDER_OR_STAFF),
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[VentureOut]:
    """Projects, oldest first: all for officers, a worker's own for a worker."""
    query = select(Venture)
    if not principal.is_privileged:
        party = principal.party_id
        query = query.where(Venture.worker_id == party) if party else query.where(false())
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, Venture.id, cursor, limit)
    return Page[VentureOut](
        items=[await _venture_out(ctx, v) for v in rows], next_cursor=next_cursor
    )


@router.get("/ventures/{venture_id}", response_model=VentureOut)
async def get_venture(
    venture_id: uuid.UUID,
    principal: Principal = Depends(FOUNDER_OR_STAFF),
    ctx: ServiceContext = Depends(get_ctx),
) -> VentureOut:
    """The project with its guidance, financing, start-up subsidy and contest entries, for
    its founder and officers."""
    async with ctx.db.read() as session:
        venture = await ventures.get(session, venture_id)
    if not (principal.is_privileged or principal.acts_for(venture.worker_id)):
        raise NotFound("venture", venture_id)
    return await _venture_out(ctx, venture)


@router.post("/ventures/{venture_id}/stage", response_model=VentureOut)
async def change_venture_stage(
    venture_id: uuid.UUID,
    body: StageChange,
    principal: Principal = Depends(FOUNDER_OR_STAFF),
    ctx: ServiceContext = Depends(get_ctx),
) -> VentureOut:
    """Move the project to another stage. Its founder and officers."""
    async with ctx.db.write() as session:
        venture = await ventures.set_stage(
            session, await _own(session, principal, venture_id), body.stage
        )
    return await _venture_out(ctx, venture)


@router.post("/ventures/{venture_id}/guidance", status_code=201, response_model=GuidanceOut)
async def record_venture_guidance(
    venture_id: uuid.UUID,
    body: GuidanceCreate,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> GuidanceOut:
    """Record a guidance session with a mentor. Officers only."""
    async with ctx.db.write() as session:
        venture = await ventures.get(session, venture_id, for_update=True)
        row = await ventures.add_guidance(session, venture, body, principal.subject)
    return guidance_out(row)


@router.post("/ventures/{venture_id}/referrals", status_code=201, response_model=ReferralOut)
async def refer_venture(
    venture_id: uuid.UUID,
    body: ReferralCreate,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ReferralOut:
    """Refer the project (项目推介) to an incubator, a training base or an investor; the founder
    sees it on the project. Officers only."""
    async with ctx.db.write() as session:
        venture = await ventures.get(session, venture_id, for_update=True)
        row = await ventures.refer(session, venture, body, principal.subject)
    return referral_out(row)


@router.post("/ventures/{venture_id}/referrals/{referral_id}/status", response_model=ReferralOut)
async def answer_venture_referral(
    venture_id: uuid.UUID,
    referral_id: uuid.UUID,
    body: ReferralAnswer,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ReferralOut:
    """Record the receiver's answer to a referral: accepted or declined (final). Officers."""
    async with ctx.db.write() as session:
        venture = await ventures.get(session, venture_id, for_update=True)
        row = await ventures.answer_referral(session, venture, referral_id, body)
    return referral_out(row)


@router.post("/ventures/{venture_id}/financing", status_code=201, response_model=FinancingOut)
async def request_venture_financing(
    venture_id: uuid.UUID,
    body: FinancingCreate,
    principal: Principal = Depends(FOUNDER_OR_STAFF),
    ctx: ServiceContext = Depends(get_ctx),
) -> FinancingOut:
    """Ask to be matched with a bank or fund. Its founder and officers."""
    async with ctx.db.write() as session:
        venture = await _own(session, principal, venture_id)
        row = await ventures.request_financing(session, venture, body)
    return financing_out(row)


@router.post("/ventures/{venture_id}/financing/{request_id}/status", response_model=FinancingOut)
async def update_venture_financing(
    venture_id: uuid.UUID,
    request_id: uuid.UUID,
    body: FinancingUpdate,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> FinancingOut:
    """Move a financing request: requested → matched → approved, or declined. Officers."""
    async with ctx.db.write() as session:
        venture = await ventures.get(session, venture_id, for_update=True)
        row = await ventures.update_financing(session, venture, request_id, body)
    return financing_out(row)


@router.post(
    "/ventures/{venture_id}/startup-subsidy", status_code=201, response_model=StartupSubsidyOut
)
async def claim_startup_subsidy(
    venture_id: uuid.UUID,
    principal: Principal = Depends(FOUNDER_OR_STAFF),
    ctx: ServiceContext = Depends(get_ctx),
) -> StartupSubsidyOut:
    """Claim the project's start-up subsidy at the policy's amount; one per project. Its
    founder and officers."""
    try:
        async with ctx.db.write() as session:
            venture = await _own(session, principal, venture_id)
            claim = await ventures.claim_subsidy(session, venture)
    except IntegrityError as exc:
        raise ventures.already_claimed() from exc
    return subsidy_out(claim)


@router.post("/ventures/{venture_id}/startup-subsidy/review", response_model=StartupSubsidyOut)
async def review_startup_subsidy(
    venture_id: uuid.UUID,
    body: SubsidyReview,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> StartupSubsidyOut:
    """Approve the pending claim, or reject it with a reason. Officers only."""
    async with ctx.db.write() as session:
        venture = await ventures.get(session, venture_id, for_update=True)
        claim = await ventures.review_subsidy(session, venture, body, principal.subject)
    return subsidy_out(claim)


@router.post("/ventures/{venture_id}/startup-subsidy/pay", response_model=StartupSubsidyOut)
async def pay_startup_subsidy(
    venture_id: uuid.UUID,
    body: SubsidyPayment,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> StartupSubsidyOut:
    """Record the payment of the approved claim; paid once (409 after). Officers only."""
    async with ctx.db.write() as session:
        venture = await ventures.get(session, venture_id, for_update=True)
        claim = await ventures.pay_subsidy(session, venture, body.payment_reference)
    return subsidy_out(claim)


@router.post(
    "/ventures/{venture_id}/contest-entries", status_code=201, response_model=ContestEntryOut
)
async def enter_contest(
    venture_id: uuid.UUID,
    body: ContestEntryCreate,
    principal: Principal = Depends(FOUNDER_OR_STAFF),
    ctx: ServiceContext = Depends(get_ctx),
) -> ContestEntryOut:
    """Enter the project in a year's 众创杯. Its founder and officers."""
    try:
        async with ctx.db.write() as session:
            venture = await _own(session, principal, venture_id)
            row = await ventures.enter_contest(session, venture, body.contest_year)
    except IntegrityError as exc:
        raise ventures.already_entered() from exc
    return entry_out(row)


@router.post(
    "/ventures/{venture_id}/contest-entries/{contest_year}/result",
    response_model=ContestEntryOut,
)
async def record_contest_result(
    venture_id: uuid.UUID,
    contest_year: int,
    body: ContestResultRecord,
    principal: Principal = Depends(OFFICERS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ContestEntryOut:
    """Record the entry's result (finalist, winner with its award, or eliminated). Officers."""
    async with ctx.db.write() as session:
        venture = await ventures.get(session, venture_id, for_update=True)
        row = await ventures.record_result(session, venture, contest_year, body)
    return entry_out(row)
