"""Free accident insurance of card holders: enrolment on issue (and renewal), claims, renewal
reminders for the policies ending soon, and the end of each policy's cover, each announced
once (``credit.insurance.*``)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import (
    InsuranceClaimRecorded,
    InsuranceEnrolled,
    InsuranceExpired,
    InsuranceRenewalDue,
)
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
    await _claim_event(session, claim, cover)
    return claim


async def _claim_event(
    session: AsyncSession, claim: InsuranceClaim, cover: InsurancePolicy
) -> None:
    await publish(
        session,
        InsuranceClaimRecorded(
            claim_id=str(claim.id),
            insurance_policy_id=str(cover.id),
            worker_id=str(cover.worker_id),
            incident_date=claim.incident_date,
            status=claim.status,  # type: ignore[arg-type]
            changed_at=utcnow(),
        ),
    )


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
    await _claim_event(session, claim, await get_policy(session, claim.policy_id))
    return claim


def _continues(cover: InsurancePolicy, latest: InsurancePolicy | None) -> bool:
    """Whether ``latest`` carries the cover on past ``cover`` without a gap."""
    return (
        latest is not None
        and latest.id != cover.id
        and latest.ends_on > cover.ends_on
        and latest.starts_on <= cover.ends_on + timedelta(days=1)
    )


async def announce(session: AsyncSession, day: date, warning_days: int) -> int:
    """Renewal reminders for the policies ending within ``warning_days`` that nothing follows
    yet (cards not revoked), and the end of every policy whose cover ended before ``day``:
    each announced once. Returns how many were announced."""
    now = utcnow()
    announced = 0
    due = await session.scalars(
        select(InsurancePolicy).where(
            InsurancePolicy.reminded_at.is_(None),
            InsurancePolicy.ends_on >= day,
            InsurancePolicy.ends_on <= day + timedelta(days=warning_days),
        )
    )
    for cover in due.all():
        latest = await current_policy(session, cover.card_id)
        card = await session.get(HomeServiceCard, cover.card_id)
        if latest is None or latest.id != cover.id or card is None or card.state == "revoked":
            continue  # already renewed, or no further cover to remind of
        cover.reminded_at = now
        await publish(session, InsuranceRenewalDue(**_notice(cover)))
        announced += 1
    ended = await session.scalars(
        select(InsurancePolicy).where(
            InsurancePolicy.expiry_announced_at.is_(None), InsurancePolicy.ends_on < day
        )
    )
    for cover in ended.all():
        latest = await current_policy(session, cover.card_id)
        cover.expiry_announced_at = now
        await publish(
            session, InsuranceExpired(**_notice(cover), renewed=_continues(cover, latest))
        )
        announced += 1
    await session.flush()
    return announced


def _notice(cover: InsurancePolicy) -> dict[str, str | date]:
    return {
        "insurance_policy_id": str(cover.id),
        "policy_number": cover.policy_number,
        "worker_id": str(cover.worker_id),
        "card_id": str(cover.card_id),
        "ends_on": cover.ends_on,
    }
