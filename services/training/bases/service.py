"""Training-base operations; each runs inside the caller's transaction."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict, NotFound
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.training.bases.models import BaseBenefitPolicy, BaseResident, TrainingBase
from services.training.bases.schemas import (
    BasePolicyCreate,
    ResidentCreate,
    TrainingBaseCreate,
)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def benefit_end(moved_in: date, months: int) -> date:
    """Last day of a benefit of ``months`` starting on ``moved_in`` (0 months: none, the day
    before moving in)."""
    return add_months(moved_in, months) - timedelta(days=1)


async def policies(session: AsyncSession) -> list[BaseBenefitPolicy]:
    return list(
        await session.scalars(select(BaseBenefitPolicy).order_by(BaseBenefitPolicy.version))
    )


async def current_policy(session: AsyncSession) -> BaseBenefitPolicy | None:
    return await session.scalar(
        select(BaseBenefitPolicy).order_by(BaseBenefitPolicy.version.desc()).limit(1)
    )


async def publish_policy(
    session: AsyncSession, data: BasePolicyCreate, created_by: str
) -> BaseBenefitPolicy:
    latest = await current_policy(session)
    policy = BaseBenefitPolicy(
        version=(latest.version + 1) if latest else 1,
        **data.model_dump(),
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(policy)
    await session.flush()
    return policy


async def create_base(session: AsyncSession, data: TrainingBaseCreate) -> TrainingBase:
    base = TrainingBase(id=new_id(), **data.model_dump(), created_at=utcnow())
    session.add(base)
    await session.flush()
    return base


async def get_base(session: AsyncSession, base_id: uuid.UUID) -> TrainingBase:
    base = await session.get(TrainingBase, base_id)
    if base is None:
        raise NotFound("training base", base_id)
    return base


async def add_resident(
    session: AsyncSession, base: TrainingBase, data: ResidentCreate
) -> BaseResident:
    """Admit a company's project to the base; its benefit periods follow the policy in force."""
    policy = await current_policy(session)
    if policy is None:
        raise Conflict("No training-base policy has been published", slug="no-base-policy")
    resident = BaseResident(
        id=new_id(),
        base_id=base.id,
        company_id=data.company_id,
        project=data.project,
        moved_in_on=data.moved_in_on,
        rent_free_until=benefit_end(data.moved_in_on, policy.rent_free_months),
        property_management_free_until=benefit_end(
            data.moved_in_on, policy.free_property_management_months
        ),
        policy_version=policy.version,
        created_at=utcnow(),
    )
    session.add(resident)
    await session.flush()
    return resident


async def residents_of(session: AsyncSession, base_id: uuid.UUID) -> list[BaseResident]:
    return list(
        await session.scalars(
            select(BaseResident)
            .where(BaseResident.base_id == base_id)
            .order_by(BaseResident.moved_in_on, BaseResident.id)
        )
    )


async def level_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(TrainingBase.level, func.count()).group_by(TrainingBase.level)
    )
    return {level: count for level, count in rows}


async def all_residents(session: AsyncSession) -> list[tuple[BaseResident, TrainingBase]]:
    rows = await session.execute(
        select(BaseResident, TrainingBase)
        .join(TrainingBase, TrainingBase.id == BaseResident.base_id)
        .order_by(BaseResident.moved_in_on, BaseResident.id)
    )
    return [(r, b) for r, b in rows]
