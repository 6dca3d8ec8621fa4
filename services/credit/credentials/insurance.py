"""Free accident insurance of card holders: enrolment on issue (and renewal), claims, and the
policies ending soon (renewal reminders)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import InsuranceEnrolled
from services.credit.credentials.models import HomeServiceCard, InsuranceClaim, InsurancePolicy
from services.credit.credentials.policy import CardRules
from services.credit.numbers import next_seq
from services.credit.service import add_years
from services.kit.errors import Conflict, NotFound
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.types import utcnow

POLICY_SERIES = "ZQBX"
PAID_BY = "programme"


async def current_policy(session: AsyncSession, card_id: uuid.UUID) -> InsurancePolicy | None:
    """The card's policy ending last."""
    return await session.scalar(
        select(InsurancePolicy)
        .where(InsurancePolicy.card_id == card_id)
        .order_by(InsurancePolicy.ends_on.desc(), InsurancePolicy.id.desc())
        .limit(1)
    )


async def enrol(
    session: AsyncSession, card: HomeServiceCard, version: int, rules: CardRules, day: date
) -> InsurancePolicy:
    seq = await next_seq(session, day.year, POLICY_SERIES)
    cover = InsurancePolicy(
        id=new_id(),
        policy_number=f"{POLICY_SERIES}-{day.year:04d}-{seq:06d}",
        card_id=card.id,
        worker_id=card.worker_id,
        insurer=rules.insurance.insurer,
        starts_on=day,
        ends_on=add_years(day, rules.insurance.years) - timedelta(days=1),
        premium_cents=rules.insurance.premium_cents,
        paid_by=PAID_BY,
        policy_version=version,
        created_at=utcnow(),
    )
    session.add(cover)
    await session.flush()
    await publish(
        session,
        InsuranceEnrolled(
            insurance_policy_id=str(cover.id),
            policy_number=cover.policy_number,
            worker_id=str(card.worker_id),
            card_id=str(card.id),
            insurer=cover.insurer,
            starts_on=cover.starts_on,
            ends_on=cover.ends_on,
            premium_cents=cover.premium_cents,
        ),
    )
    return cover


async def renew(
    session: AsyncSession, cover: InsurancePolicy, version: int, rules: CardRules, day: date
) -> InsurancePolicy:
    """The next period of cover for the card, from the day after ``cover`` ends (or today, if
    it has lapsed). Only from the card's latest policy, and only for a card not revoked."""
    card = await session.get(HomeServiceCard, cover.card_id)
    if card is None or card.state == "revoked":
        raise Conflict("the card is revoked: no further cover", slug="card-revoked")
    latest = await current_policy(session, cover.card_id)
    if latest is not None and latest.id != cover.id:
        raise Conflict(
            f"policy {latest.policy_number} already follows this one", slug="already-renewed"
        )
    return await enrol(session, card, version, rules, max(day, cover.ends_on + timedelta(days=1)))


async def get_policy(session: AsyncSession, policy_id: uuid.UUID) -> InsurancePolicy:
    cover = await session.get(InsurancePolicy, policy_id)
    if cover is None:
        raise NotFound("insurance policy", policy_id)
    return cover


async def record_claim(
    session: AsyncSession,
    cover: InsurancePolicy,
    incident_date: date,
    incident: str,
    recorded_by: str,
) -> InsuranceClaim:
    claim = InsuranceClaim(
        id=new_id(),
        policy_id=cover.id,
        incident_date=incident_date,
        incident=incident,
        status="reported",
        recorded_by=recorded_by,
        recorded_at=utcnow(),
    )
    session.add(claim)
    await session.flush()
    return claim


#: Where a claim may go from each status.
CLAIM_TRANSITIONS = {"reported": ("accepted", "rejected"), "accepted": ("paid",)}


async def decide_claim(session: AsyncSession, claim_id: uuid.UUID, status: str) -> InsuranceClaim:
    claim = await session.get(InsuranceClaim, claim_id)
    if claim is None:
        raise NotFound("claim", claim_id)
    if status not in CLAIM_TRANSITIONS.get(claim.status, ()):
        raise Conflict(f"a {claim.status} claim cannot become {status}", slug="claim-status")
    claim.status = status
    await session.flush()
    return claim
