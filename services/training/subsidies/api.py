"""Subsidy routes under /api/v1/subsidies.

The policy is public; institutions (their own courses' completions) and officers file claims;
only the programme's officers review and pay them. A worker reads their own claims, an
institution the claims it filed for its courses; anyone else's claim is 404.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Select, false, select
from sqlalchemy.exc import IntegrityError

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict, NotFound
from services.kit.http import etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal
from services.training import access, service
from services.training.subsidies import service as subsidies
from services.training.subsidies.models import SubsidyClaim, SubsidyPolicy
from services.training.subsidies.schemas import (
    ClaimCreate,
    ClaimOut,
    ClaimPayment,
    ClaimReview,
    ClaimStatus,
    SubsidyPolicyCreate,
    SubsidyPolicyHistory,
    SubsidyPolicyOut,
)

router = APIRouter(prefix="/api/v1", tags=["training subsidies"])

READS_CLAIMS = allow(*STAFF, "institution", "worker")


def policy_out(policy: SubsidyPolicy) -> SubsidyPolicyOut:
    return SubsidyPolicyOut(
        version=policy.version,
        amounts=policy.amounts,
        eligible_groups=policy.eligible_groups,
        created_at=policy.created_at,
    )


def claim_out(claim: SubsidyClaim) -> ClaimOut:
    return ClaimOut(
        id=claim.id,
        enrollment_id=claim.enrollment_id,
        worker_id=claim.worker_id,
        course_id=claim.course_id,
        institution_id=claim.institution_id,
        training_type=claim.training_type,
        amount=claim.amount,
        policy_version=claim.policy_version,
        status=claim.status,  # type: ignore[arg-type]
        reason=claim.reason,
        payment_reference=claim.payment_reference,
        filed_at=claim.filed_at,
        reviewed_at=claim.reviewed_at,
        paid_at=claim.paid_at,
        version=claim.version,
    )


def _with_etag(response: Response, claim: SubsidyClaim) -> ClaimOut:
    response.headers["ETag"] = etag_for(claim.id, claim.version)
    return claim_out(claim)


@router.get(
    "/subsidies/policy",
    response_model=SubsidyPolicyHistory,
    dependencies=[Depends(public())],
)
async def get_subsidy_policy(ctx: ServiceContext = Depends(get_ctx)) -> SubsidyPolicyHistory:
    """The training-subsidy policy in force (amounts per training type, eligible target
    groups) and every earlier version. Public."""
    async with ctx.db.read() as session:
        versions = await subsidies.policies(session)
    return SubsidyPolicyHistory(
        current=policy_out(versions[-1]) if versions else None,
        versions=[policy_out(p) for p in versions],
    )


@router.post("/subsidies/policy", status_code=201, response_model=SubsidyPolicyOut)
async def publish_subsidy_policy(
    body: SubsidyPolicyCreate,
    principal: Principal = Depends(allow(*STAFF)),
    ctx: ServiceContext = Depends(get_ctx),
) -> SubsidyPolicyOut:
    """Publish the next version of the subsidy policy; claims filed from now on use it and
    record its version. Officers only."""
    try:
        async with ctx.db.write() as session:
            policy = await subsidies.publish_policy(session, body, principal.subject)
    except IntegrityError as exc:
        raise Conflict(
            "Another policy version was published at the same time; read it and retry",
            slug="policy-version-taken",
        ) from exc
    return policy_out(policy)


@router.post("/subsidies", status_code=201, response_model=ClaimOut)
async def file_subsidy_claim(
    body: ClaimCreate,
    response: Response,
    principal: Principal = Depends(allow(*STAFF, "institution")),
    ctx: ServiceContext = Depends(get_ctx),
) -> ClaimOut:
    """File the subsidy claim for one passed completion, at the amount of the policy in force.

    One claim per completion. Officers, and staff of the institution that ran the course
    (another institution's enrolments are 404).
    """
    try:
        async with ctx.db.write() as session:
            enrollment = await service.get_enrollment(session, body.enrollment_id)
            course = await service.get_course(session, enrollment.course_id)
            if not access.runs(principal, course):
                raise NotFound("enrollment", body.enrollment_id)
            claim = await subsidies.file_claim(session, enrollment, course, principal.subject)
    except IntegrityError as exc:
        raise subsidies.already_claimed() from exc
    response.headers["Location"] = f"/api/v1/subsidies/{claim.id}"
    return _with_etag(response, claim)


def _visible(
    query: Select[tuple[SubsidyClaim]], principal: Principal
) -> Select[tuple[SubsidyClaim]]:
    if principal.is_privileged:
        return query
    if principal.party_id is None:
        return query.where(false())
    if principal.role == "worker":
        return query.where(SubsidyClaim.worker_id == principal.party_id)
    if principal.role == "institution":
        return query.where(SubsidyClaim.institution_id == principal.party_id)
    return query.where(false())


@router.get("/subsidies", response_model=Page[ClaimOut])
async def list_subsidy_claims(
    principal: Principal = Depends(READS_CLAIMS),
    ctx: ServiceContext = Depends(get_ctx),
    status: ClaimStatus | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[ClaimOut]:
    """Claims the caller may read, oldest first: all for officers, an institution's own,
    a worker's own; optionally of one status (officers' review queue: ``pending``)."""
    query = _visible(select(SubsidyClaim), principal)
    if status is not None:
        query = query.where(SubsidyClaim.status == status)
    async with ctx.db.read() as session:
        claims, next_cursor = await keyset_page(session, query, SubsidyClaim.id, cursor, limit)
    return Page[ClaimOut](items=[claim_out(c) for c in claims], next_cursor=next_cursor)


@router.get("/subsidies/{claim_id}", response_model=ClaimOut)
async def get_subsidy_claim(
    claim_id: uuid.UUID,
    response: Response,
    principal: Principal = Depends(READS_CLAIMS),
    ctx: ServiceContext = Depends(get_ctx),
) -> ClaimOut:
    """One claim, for officers, the institution that filed it and the worker (else 404)."""
    async with ctx.db.read() as session:
        claim = await session.scalar(
            _visible(select(SubsidyClaim).where(SubsidyClaim.id == claim_id), principal)
        )
    if claim is None:
        raise NotFound("subsidy claim", claim_id)
    return _with_etag(response, claim)


@router.post("/subsidies/{claim_id}/review", response_model=ClaimOut)
async def review_subsidy_claim(
    claim_id: uuid.UUID,
    body: ClaimReview,
    response: Response,
    principal: Principal = Depends(allow(*STAFF)),
    ctx: ServiceContext = Depends(get_ctx),
) -> ClaimOut:
    """Approve a pending claim, or reject it with a reason. Officers only."""
    async with ctx.db.write() as session:
        claim = await subsidies.get_claim(session, claim_id, for_update=True)
        claim = await subsidies.review(session, claim, body, principal.subject)
    return _with_etag(response, claim)


@router.post("/subsidies/{claim_id}/pay", response_model=ClaimOut)
async def pay_subsidy_claim(
    claim_id: uuid.UUID,
    body: ClaimPayment,
    response: Response,
    principal: Principal = Depends(allow(*STAFF)),
    ctx: ServiceContext = Depends(get_ctx),
) -> ClaimOut:
    """Record the payment of an approved claim; a claim is paid once (409 after). Officers."""
    async with ctx.db.write() as session:
        claim = await subsidies.get_claim(session, claim_id, for_update=True)
        claim = await subsidies.pay(session, claim, body.payment_reference, principal.subject)
    return _with_etag(response, claim)
