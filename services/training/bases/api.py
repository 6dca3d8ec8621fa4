"""Training-base routes under /api/v1/training-bases.

Bases and the benefit policy are public; the programme's officers register bases, admit
resident companies and read the benefits report (granted, active and expiring).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.training.bases import service as bases
from services.training.bases.models import BaseBenefitPolicy, BaseResident, TrainingBase
from services.training.bases.schemas import (
    BaseLevel,
    BasePolicyCreate,
    BasePolicyHistory,
    BasePolicyOut,
    BenefitLine,
    BenefitReport,
    LevelCount,
    ResidentCreate,
    ResidentOut,
    TrainingBaseCreate,
    TrainingBaseOut,
)
from services.training.schemas import Day

router = APIRouter(prefix="/api/v1", tags=["training bases"])

RUNS_BASES = allow(*STAFF)
LEVELS: tuple[BaseLevel, ...] = (
    "provincial_demonstration",
    "municipal_demonstration",
    "poverty_alleviation",
)


def policy_out(policy: BaseBenefitPolicy) -> BasePolicyOut:
    return BasePolicyOut(
        version=policy.version,
        rent_free_months=policy.rent_free_months,
        free_property_management_months=policy.free_property_management_months,
        provincial_target=policy.provincial_target,
        municipal_target=policy.municipal_target,
        created_at=policy.created_at,
    )


def base_out(base: TrainingBase) -> TrainingBaseOut:
    return TrainingBaseOut(
        id=base.id,
        name=base.name,
        level=base.level,  # type: ignore[arg-type]
        county=base.county,
        address=base.address,
        capacity=base.capacity,
        created_at=base.created_at,
    )


def resident_out(resident: BaseResident) -> ResidentOut:
    return ResidentOut(
        id=resident.id,
        base_id=resident.base_id,
        company_id=resident.company_id,
        project=resident.project,
        moved_in_on=resident.moved_in_on,
        rent_free_until=resident.rent_free_until,
        property_management_free_until=resident.property_management_free_until,
        policy_version=resident.policy_version,
    )


@router.get(
    "/training-bases/policy",
    response_model=BasePolicyHistory,
    dependencies=[Depends(public())],
)
async def get_base_policy(ctx: ServiceContext = Depends(get_ctx)) -> BasePolicyHistory:
    """The base policy in force (residents' rent-free and free property-management months,
    targets per level) and every earlier version. Public."""
    async with ctx.db.read() as session:
        versions = await bases.policies(session)
    return BasePolicyHistory(
        current=policy_out(versions[-1]) if versions else None,
        versions=[policy_out(p) for p in versions],
    )


@router.post("/training-bases/policy", status_code=201, response_model=BasePolicyOut)
async def publish_base_policy(
    body: BasePolicyCreate,
    principal: Principal = Depends(RUNS_BASES),
    ctx: ServiceContext = Depends(get_ctx),
) -> BasePolicyOut:
    """Publish the next base policy version; residents admitted from now on get its periods.
    Officers only."""
    try:
        async with ctx.db.write() as session:
            policy = await bases.publish_policy(session, body, principal.subject)
    except IntegrityError as exc:
        raise Conflict(
            "Another policy version was published at the same time; read it and retry",
            slug="policy-version-taken",
        ) from exc
    return policy_out(policy)


@router.get("/training-bases/report", response_model=BenefitReport)
async def benefits_report(
    principal: Principal = Depends(RUNS_BASES),
    ctx: ServiceContext = Depends(get_ctx),
    as_of: Day | None = Query(None, description="Report day; default today (UTC)"),
    within_days: int = Query(90, ge=0, le=3660, description="Expiry window in days"),
) -> BenefitReport:
    """Bases per level against the policy's targets, and every resident's benefits: whether
    each is still running on ``as_of`` and which end within ``within_days``. Officers."""
    day = as_of or utcnow().date()
    horizon = day + timedelta(days=within_days)
    async with ctx.db.read() as session:
        policy = await bases.current_policy(session)
        counts = await bases.level_counts(session)
        rows = await bases.all_residents(session)
    targets = {
        "provincial_demonstration": policy.provincial_target if policy else None,
        "municipal_demonstration": policy.municipal_target if policy else None,
    }
    lines = []
    for resident, base in rows:
        expiring: list = []
        if day <= resident.rent_free_until <= horizon:
            expiring.append("rent_free")
        if day <= resident.property_management_free_until <= horizon:
            expiring.append("property_management_free")
        lines.append(
            BenefitLine(
                resident=resident_out(resident),
                base_name=base.name,
                rent_free_active=resident.moved_in_on <= day <= resident.rent_free_until,
                property_management_free_active=(
                    resident.moved_in_on <= day <= resident.property_management_free_until
                ),
                expiring=expiring,
            )
        )
    return BenefitReport(
        as_of=day,
        within_days=within_days,
        policy_version=policy.version if policy else None,
        levels=[
            LevelCount(level=level, bases=counts.get(level, 0), target=targets.get(level))
            for level in LEVELS
        ],
        residents=lines,
    )


@router.post("/training-bases", status_code=201, response_model=TrainingBaseOut)
async def create_training_base(
    body: TrainingBaseCreate,
    principal: Principal = Depends(RUNS_BASES),
    ctx: ServiceContext = Depends(get_ctx),
) -> TrainingBaseOut:
    """Register a demonstration or poverty-alleviation training base. Officers only."""
    async with ctx.db.write() as session:
        base = await bases.create_base(session, body)
    return base_out(base)


@router.get(
    "/training-bases", response_model=Page[TrainingBaseOut], dependencies=[Depends(public())]
)
async def list_training_bases(
    ctx: ServiceContext = Depends(get_ctx),
    level: BaseLevel | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[TrainingBaseOut]:
    """Training bases, oldest first, optionally of one level. Public."""
    query = select(TrainingBase)
    if level is not None:
        query = query.where(TrainingBase.level == level)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, TrainingBase.id, cursor, limit)
    return Page[TrainingBaseOut](items=[base_out(b) for b in rows], next_cursor=next_cursor)


@router.get(
    "/training-bases/{base_id}",
    response_model=TrainingBaseOut,
    dependencies=[Depends(public())],
)
async def get_training_base(
    base_id: uuid.UUID, ctx: ServiceContext = Depends(get_ctx)
) -> TrainingBaseOut:
    """One training base. Public."""
    async with ctx.db.read() as session:
        return base_out(await bases.get_base(session, base_id))


@router.post("/training-bases/{base_id}/residents", status_code=201, response_model=ResidentOut)
async def admit_resident(
    base_id: uuid.UUID,
    body: ResidentCreate,
    principal: Principal = Depends(RUNS_BASES),
    ctx: ServiceContext = Depends(get_ctx),
) -> ResidentOut:
    """Admit a company's project to the base, with the benefit periods of the policy in force
    (recorded with its version). Officers only."""
    async with ctx.db.write() as session:
        base = await bases.get_base(session, base_id)
        resident = await bases.add_resident(session, base, body)
    return resident_out(resident)


@router.get("/training-bases/{base_id}/residents", response_model=list[ResidentOut])
async def list_residents(
    base_id: uuid.UUID,
    principal: Principal = Depends(RUNS_BASES),
    ctx: ServiceContext = Depends(get_ctx),
) -> list[ResidentOut]:
    """The base's residents and their benefit periods. Officers only."""
    async with ctx.db.read() as session:
        await bases.get_base(session, base_id)
        rows = await bases.residents_of(session, base_id)
    return [resident_out(r) for r in rows]
