"""Subsidy operations: publish policy versions, file claims for passed completions, review and
pay them. Each runs inside the caller's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.training.models import COMPLETED, Course, Enrollment, KnownWorker
from services.training.subsidies.models import (
    APPROVED,
    PAID,
    PENDING,
    REJECTED,
    SubsidyClaim,
    SubsidyPolicy,
)
from services.training.subsidies.schemas import ClaimReview, SubsidyPolicyCreate


async def policies(session: AsyncSession) -> list[SubsidyPolicy]:
    return list(await session.scalars(select(SubsidyPolicy).order_by(SubsidyPolicy.version)))


async def current_policy(session: AsyncSession) -> SubsidyPolicy | None:
    return await session.scalar(
        select(SubsidyPolicy).order_by(SubsidyPolicy.version.desc()).limit(1)
    )


async def publish_policy(
    session: AsyncSession, data: SubsidyPolicyCreate, created_by: str
) -> SubsidyPolicy:
    """Add the next policy version. Two officers publishing at once: the second's primary key
    collides and the route answers 409, so no version is silently lost."""
    latest = await current_policy(session)
    policy = SubsidyPolicy(
        version=(latest.version + 1) if latest else 1,
        amounts=dict(data.amounts),
        eligible_groups=list(data.eligible_groups),
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(policy)
    await session.flush()
    return policy


async def file_claim(
    session: AsyncSession, enrollment: Enrollment, course: Course, filed_by: str
) -> SubsidyClaim:
    """File the claim for one passed completion at the amount of the policy in force.

    One claim per completion: checked here for a clear answer, and guaranteed by the unique
    ``enrollment_id`` when two requests race (the route maps the collision to 409).
    """
    if enrollment.status != COMPLETED or not enrollment.passed:
        raise Conflict("Only a passed completion earns a subsidy", slug="not-passed")
    existing = await session.scalar(
        select(SubsidyClaim.id).where(SubsidyClaim.enrollment_id == enrollment.id)
    )
    if existing is not None:
        raise already_claimed(existing)
    policy = await current_policy(session)
    if policy is None:
        raise Conflict("No subsidy policy has been published", slug="no-subsidy-policy")
    amount = policy.amounts.get(course.training_type)
    if not amount:
        raise Conflict(
            f"Subsidy policy version {policy.version} pays nothing for "
            f"{course.training_type} training",
            slug="not-subsidised",
        )
    if policy.eligible_groups:
        worker = await session.get(KnownWorker, enrollment.worker_id)
        groups = set(worker.target_groups if worker else [])
        if not groups & set(policy.eligible_groups):
            raise Conflict(
                f"Subsidy policy version {policy.version} pays only workers in "
                f"{', '.join(policy.eligible_groups)}",
                slug="not-eligible",
            )
    now = utcnow()
    claim = SubsidyClaim(
        id=new_id(),
        enrollment_id=enrollment.id,
        worker_id=enrollment.worker_id,
        course_id=course.id,
        institution_id=course.institution_id,
        training_type=course.training_type,
        amount=amount,
        policy_version=policy.version,
        status=PENDING,
        filed_by=filed_by,
        filed_at=now,
        version=1,
        updated_at=now,
    )
    session.add(claim)
    await session.flush()
    return claim


def already_claimed(claim_id: uuid.UUID | None = None) -> Conflict:
    return Conflict(
        "A subsidy claim for this completion exists already",
        slug="already-claimed",
        claim_id=str(claim_id) if claim_id else None,
    )


async def get_claim(
    session: AsyncSession, claim_id: uuid.UUID, *, for_update: bool = False
) -> SubsidyClaim:
    claim = await session.get(SubsidyClaim, claim_id, with_for_update=for_update)
    if claim is None:
        raise NotFound("subsidy claim", claim_id)
    return claim


async def review(
    session: AsyncSession, claim: SubsidyClaim, data: ClaimReview, reviewer: str
) -> SubsidyClaim:
    """Approve or reject (with a reason) a pending claim; ``claim`` is locked."""
    if claim.status != PENDING:
        raise Conflict(f"The claim is {claim.status}, not pending", slug="claim-not-pending")
    if data.decision == "reject" and data.reason is None:
        raise InvalidField("reason", "give the reason for rejecting", slug="reason-required")
    now = utcnow()
    claim.status = APPROVED if data.decision == "approve" else REJECTED
    claim.reason = data.reason
    claim.reviewed_by = reviewer
    claim.reviewed_at = now
    claim.updated_at = now
    claim.version += 1
    await session.flush()
    return claim


async def pay(
    session: AsyncSession, claim: SubsidyClaim, reference: str, payer: str
) -> SubsidyClaim:
    """Mark an approved claim paid. ``claim`` is locked, so of concurrent payments one moves
    it to ``paid`` and the rest find it paid (409): a completion is never paid twice."""
    if claim.status == PAID:
        raise Conflict(
            f"The claim was paid at {claim.paid_at:%Y-%m-%dT%H:%M:%SZ}", slug="already-paid"
        )
    if claim.status != APPROVED:
        raise Conflict(f"The claim is {claim.status}, not approved", slug="claim-not-approved")
    now = utcnow()
    claim.status = PAID
    claim.payment_reference = reference
    claim.paid_by = payer
    claim.paid_at = now
    claim.updated_at = now
    claim.version += 1
    await session.flush()
    return claim
