"""Routes of the card holders' free accident insurance: policies (and renewal reminders),
renewal, claims. Programme staff only."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from services.credit.credentials import cards, insurance, policy
from services.credit.credentials.models import (
    InsuranceClaim,
    InsurancePolicy,
)
from services.credit.credentials.schemas import (
    ClaimDecision,
    ClaimIn,
    InsuranceClaimOut,
    InsurancePolicyOut,
)
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Problem
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["insurance"])
staff = allow(*STAFF)


@router.get("/insurance/policies", response_model=Page[InsurancePolicyOut])
async def insurance_policies(
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
    ending_within_days: int | None = Query(
        None, ge=0, le=366, description="Only policies ending within this many days (reminders)"
    ),
    worker_id: uuid.UUID | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[InsurancePolicyOut]:
    """Accident insurance policies of card holders, oldest first."""
    query = select(InsurancePolicy)
    if ending_within_days is not None:
        day = cards.today()
        query = query.where(
            InsurancePolicy.ends_on >= day,
            InsurancePolicy.ends_on <= day + timedelta(days=ending_within_days),
        )
    if worker_id is not None:
        query = query.where(InsurancePolicy.worker_id == worker_id)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, InsurancePolicy.id, cursor, limit)
    return Page[InsurancePolicyOut](
        items=[InsurancePolicyOut.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/insurance/policies/{policy_id}/claims", response_model=InsuranceClaimOut, status_code=201
)
async def record_claim(
    policy_id: uuid.UUID,
    body: ClaimIn,
    response: Response,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> InsuranceClaimOut:
    """Record a claim; the incident must fall within the policy's cover."""
    async with ctx.db.write() as session:
        cover = await insurance.get_policy(session, policy_id)
        if not cover.starts_on <= body.incident_date <= cover.ends_on:
            raise Problem(
                422,
                "outside-cover",
                "incident outside cover",
                f"The policy covers {cover.starts_on} to {cover.ends_on}",
            )
        claim = await insurance.record_claim(
            session, cover, body.incident_date, body.incident, principal.subject
        )
        out = InsuranceClaimOut.model_validate(claim)
    response.headers["Location"] = f"/api/v1/insurance/policies/{policy_id}/claims"
    return out


@router.post(
    "/insurance/policies/{policy_id}/renewal", response_model=InsurancePolicyOut, status_code=201
)
async def renew_insurance(
    policy_id: uuid.UUID,
    response: Response,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> InsurancePolicyOut:
    """The next free period of cover under the current card policy, from the day after this
    one ends (409 if the card is revoked or the policy was already renewed)."""
    async with ctx.db.write() as session:
        cover = await insurance.get_policy(session, policy_id)
        version, rules = await policy.current(session)
        renewed = await insurance.renew(session, cover, version, rules, cards.today())
        out = InsurancePolicyOut.model_validate(renewed)
    response.headers["Location"] = f"/api/v1/insurance/policies?worker_id={out.worker_id}"
    return out


@router.get("/insurance/policies/{policy_id}/claims", response_model=list[InsuranceClaimOut])
async def policy_claims(
    policy_id: uuid.UUID,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> list[InsuranceClaimOut]:
    """A policy's claims, oldest first."""
    async with ctx.db.read() as session:
        await insurance.get_policy(session, policy_id)
        rows = await session.scalars(
            select(InsuranceClaim)
            .where(InsuranceClaim.policy_id == policy_id)
            .order_by(InsuranceClaim.id)
        )
        return [InsuranceClaimOut.model_validate(row) for row in rows]


@router.post("/insurance/claims/{claim_id}/decision", response_model=InsuranceClaimOut)
async def decide_claim(
    claim_id: uuid.UUID,
    body: ClaimDecision,
    principal: Principal = Depends(staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> InsuranceClaimOut:
    """Move a claim on: reported → accepted or rejected, accepted → paid (409 otherwise)."""
    async with ctx.db.write() as session:
        claim = await insurance.decide_claim(session, claim_id, body.status)
        return InsuranceClaimOut.model_validate(claim)
