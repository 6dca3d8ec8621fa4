"""Entrepreneurship operations; each runs inside the caller's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.training.bases.models import TrainingBase
from services.training.models import KnownWorker
from services.training.ventures.models import (
    STAGES,
    ContestEntry,
    FinancingRequest,
    GuidanceSession,
    Referral,
    StartupSubsidyClaim,
    Venture,
    VenturePolicy,
)
from services.training.ventures.schemas import (
    ContestResultRecord,
    FinancingCreate,
    FinancingUpdate,
    GuidanceCreate,
    ReferralAnswer,
    ReferralCreate,
    SubsidyReview,
    VentureCreate,
    VenturePolicyCreate,
)


async def policies(session: AsyncSession) -> list[VenturePolicy]:
    return list(await session.scalars(select(VenturePolicy).order_by(VenturePolicy.version)))


async def current_policy(session: AsyncSession) -> VenturePolicy | None:
    return await session.scalar(
        select(VenturePolicy).order_by(VenturePolicy.version.desc()).limit(1)
    )


async def publish_policy(
    session: AsyncSession, data: VenturePolicyCreate, created_by: str
) -> VenturePolicy:
    latest = await current_policy(session)
    policy = VenturePolicy(
        version=(latest.version + 1) if latest else 1,
        startup_subsidy_amount=data.startup_subsidy_amount,
        subsidy_min_stage=data.subsidy_min_stage,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(policy)
    await session.flush()
    return policy


async def create(session: AsyncSession, data: VentureCreate, worker_id: uuid.UUID) -> Venture:
    if await session.get(KnownWorker, worker_id) is None:
        raise InvalidField(
            "worker_id", "no worker with this id is known to training", slug="unknown-worker"
        )
    now = utcnow()
    venture = Venture(
        id=new_id(),
        worker_id=worker_id,
        name=data.name,
        idea=data.idea,
        stage=data.stage,
        county=data.county,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(venture)
    await session.flush()
    return venture


async def get(session: AsyncSession, venture_id: uuid.UUID, *, for_update: bool = False) -> Venture:
    venture = await session.get(Venture, venture_id, with_for_update=for_update)
    if venture is None:
        raise NotFound("venture", venture_id)
    return venture


def _touch(venture: Venture) -> None:
    venture.updated_at = utcnow()
    venture.version += 1


async def set_stage(session: AsyncSession, venture: Venture, stage: str) -> Venture:
    venture.stage = stage
    _touch(venture)
    await session.flush()
    return venture


async def add_guidance(
    session: AsyncSession, venture: Venture, data: GuidanceCreate, recorded_by: str
) -> GuidanceSession:
    row = GuidanceSession(
        id=new_id(),
        venture_id=venture.id,
        mentor_name=data.mentor_name,
        held_on=data.held_on,
        notes=data.notes,
        recorded_by=recorded_by,
        recorded_at=utcnow(),
    )
    session.add(row)
    _touch(venture)
    await session.flush()
    return row


async def refer(
    session: AsyncSession, venture: Venture, data: ReferralCreate, referred_by: str
) -> Referral:
    """Refer the project (项目推介) to an incubator, a training base or an investor."""
    if data.to_kind == "training_base":
        if data.base_id is None:
            raise InvalidField("base_id", "name the training base referred to", slug="no-base")
        if await session.get(TrainingBase, data.base_id) is None:
            raise InvalidField("base_id", "no training base has this id", slug="unknown-base")
    elif data.base_id is not None:
        raise InvalidField("base_id", "only a referral to a training base names a base")
    row = Referral(
        id=new_id(),
        venture_id=venture.id,
        to_kind=data.to_kind,
        to_name=data.to_name,
        base_id=data.base_id,
        status="referred",
        note=data.note,
        referred_by=referred_by,
        referred_at=utcnow(),
    )
    session.add(row)
    _touch(venture)
    await session.flush()
    return row


async def answer_referral(
    session: AsyncSession, venture: Venture, referral_id: uuid.UUID, data: ReferralAnswer
) -> Referral:
    """Record the receiver's answer; an answered referral is final."""
    row = await session.get(Referral, referral_id, with_for_update=True)
    if row is None or row.venture_id != venture.id:
        raise NotFound("referral", referral_id)
    if row.status != "referred":
        raise Conflict(f"The referral was {row.status} already", slug="referral-answered")
    row.status = data.status
    row.note = data.note or row.note
    row.answered_at = utcnow()
    _touch(venture)
    await session.flush()
    return row


async def request_financing(
    session: AsyncSession, venture: Venture, data: FinancingCreate
) -> FinancingRequest:
    now = utcnow()
    row = FinancingRequest(
        id=new_id(),
        venture_id=venture.id,
        lender_kind=data.lender_kind,
        lender_name=data.lender_name,
        amount=data.amount,
        status="requested",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _touch(venture)
    await session.flush()
    return row


#: Allowed financing moves: matchmaking first, then the lender's decision (final).
_FINANCING_MOVES = {"requested": {"matched", "declined"}, "matched": {"approved", "declined"}}


async def update_financing(
    session: AsyncSession, venture: Venture, request_id: uuid.UUID, data: FinancingUpdate
) -> FinancingRequest:
    row = await session.get(FinancingRequest, request_id, with_for_update=True)
    if row is None or row.venture_id != venture.id:
        raise NotFound("financing request", request_id)
    if data.status not in _FINANCING_MOVES.get(row.status, set()):
        raise Conflict(
            f"A {row.status} financing request cannot become {data.status}",
            slug="financing-transition",
        )
    row.status = data.status
    row.note = data.note
    row.updated_at = utcnow()
    _touch(venture)
    await session.flush()
    return row


async def claim_subsidy(session: AsyncSession, venture: Venture) -> StartupSubsidyClaim:
    """File the project's one start-up subsidy claim at the policy's amount (the unique
    ``venture_id`` refuses a second, the route answers 409)."""
    policy = await current_policy(session)
    if policy is None:
        raise Conflict("No start-up support policy has been published", slug="no-venture-policy")
    if STAGES.index(venture.stage) < STAGES.index(policy.subsidy_min_stage):
        raise Conflict(
            f"Policy version {policy.version} pays projects from the {policy.subsidy_min_stage} "
            f"stage; this one is at {venture.stage}",
            slug="stage-too-early",
        )
    existing = await session.scalar(
        select(StartupSubsidyClaim.id).where(StartupSubsidyClaim.venture_id == venture.id)
    )
    if existing is not None:
        raise already_claimed()
    claim = StartupSubsidyClaim(
        id=new_id(),
        venture_id=venture.id,
        amount=policy.startup_subsidy_amount,
        policy_version=policy.version,
        status="pending",
        filed_at=utcnow(),
    )
    session.add(claim)
    _touch(venture)
    await session.flush()
    return claim


def already_claimed() -> Conflict:
    return Conflict("The project has claimed its start-up subsidy", slug="already-claimed")


async def _claim(session: AsyncSession, venture: Venture) -> StartupSubsidyClaim:
    claim = await session.scalar(
        select(StartupSubsidyClaim)
        .where(StartupSubsidyClaim.venture_id == venture.id)
        .with_for_update()
    )
    if claim is None:
        raise NotFound("start-up subsidy claim of venture", venture.id)
    return claim


async def review_subsidy(
    session: AsyncSession, venture: Venture, data: SubsidyReview, reviewer: str
) -> StartupSubsidyClaim:
    claim = await _claim(session, venture)
    if claim.status != "pending":
        raise Conflict(f"The claim is {claim.status}, not pending", slug="claim-not-pending")
    if data.decision == "reject" and data.reason is None:
        raise InvalidField("reason", "give the reason for rejecting", slug="reason-required")
    now = utcnow()
    claim.status = "approved" if data.decision == "approve" else "rejected"
    claim.reason = data.reason
    claim.reviewed_by = reviewer
    claim.reviewed_at = now
    _touch(venture)
    await session.flush()
    return claim


async def pay_subsidy(
    session: AsyncSession, venture: Venture, reference: str
) -> StartupSubsidyClaim:
    claim = await _claim(session, venture)
    if claim.status == "paid":
        raise Conflict("The claim was paid already", slug="already-paid")
    if claim.status != "approved":
        raise Conflict(f"The claim is {claim.status}, not approved", slug="claim-not-approved")
    claim.status = "paid"
    claim.paid_at = utcnow()
    claim.payment_reference = reference
    _touch(venture)
    await session.flush()
    return claim


async def enter_contest(session: AsyncSession, venture: Venture, year: int) -> ContestEntry:
    entered = await session.scalar(
        select(ContestEntry.id).where(
            ContestEntry.venture_id == venture.id, ContestEntry.contest_year == year
        )
    )
    if entered is not None:
        raise already_entered()
    row = ContestEntry(
        id=new_id(), venture_id=venture.id, contest_year=year, result="entered", entered_at=utcnow()
    )
    session.add(row)
    _touch(venture)
    await session.flush()
    return row


def already_entered() -> Conflict:
    return Conflict("The project already entered that year's 众创杯", slug="already-entered")


async def record_result(
    session: AsyncSession, venture: Venture, year: int, data: ContestResultRecord
) -> ContestEntry:
    row = await session.scalar(
        select(ContestEntry).where(
            ContestEntry.venture_id == venture.id, ContestEntry.contest_year == year
        )
    )
    if row is None:
        raise NotFound("contest entry", f"{venture.id}/{year}")
    if data.award is not None and data.result != "winner":
        raise InvalidField("award", "only a winner receives an award")
    row.result = data.result
    row.award = data.award
    row.judged_at = utcnow()
    _touch(venture)
    await session.flush()
    return row


async def details(
    session: AsyncSession, venture_id: uuid.UUID
) -> tuple[
    list[GuidanceSession],
    list[Referral],
    list[FinancingRequest],
    StartupSubsidyClaim | None,
    list[ContestEntry],
]:
    guidance = list(
        await session.scalars(
            select(GuidanceSession)
            .where(GuidanceSession.venture_id == venture_id)
            .order_by(GuidanceSession.held_on, GuidanceSession.id)
        )
    )
    referrals = list(
        await session.scalars(
            select(Referral)
            .where(Referral.venture_id == venture_id)
            .order_by(Referral.referred_at, Referral.id)
        )
    )
    financing = list(
        await session.scalars(
            select(FinancingRequest)
            .where(FinancingRequest.venture_id == venture_id)
            .order_by(FinancingRequest.created_at, FinancingRequest.id)
        )
    )
    claim = await session.scalar(
        select(StartupSubsidyClaim).where(StartupSubsidyClaim.venture_id == venture_id)
    )
    entries = list(
        await session.scalars(
            select(ContestEntry)
            .where(ContestEntry.venture_id == venture_id)
            .order_by(ContestEntry.contest_year)
        )
    )
    return guidance, referrals, financing, claim, entries
