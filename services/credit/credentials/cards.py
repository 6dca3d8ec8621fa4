"""The home-service card (居家上门服务证): eligibility, issue, suspension, reinstatement,
revocation, renewal and its live colour. Each operation runs inside the caller's transaction.

Eligibility is re-judged whenever a fact it rests on arrives (registry events, a training
certificate) and by :func:`sweep` for what lapses with time (a check expiring): a card whose
conditions lapse is suspended, and reinstated when they hold again. A card an officer
suspended stays suspended until an officer reinstates it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CardIssued, CardStatusChanged
from services.credit.credentials import insurance, policy, vc
from services.credit.credentials.models import CardWorkerFacts, HomeServiceCard
from services.credit.credentials.policy import CardRules
from services.credit.files.models import CreditComplaint
from services.credit.models import Certificate
from services.credit.numbers import local_date, next_seq
from services.credit.service import add_years
from services.kit.dialect import per_dialect
from services.kit.errors import Conflict, NotFound, Problem
from services.kit.ids import new_id
from services.kit.one_of import one_of_param
from services.kit.outbox import publish
from services.kit.types import utcnow

CARD_SERIES = "ZQJZ"
CONDITIONS_LAPSED = "conditions"
BY_OFFICER = "officer"
#: Complaint states in which an officer is looking into it (filed is not yet; decided is over).
INVESTIGATING = ("assigned", "investigating")
#: Registry states in which a worker may not hold a card.
OUT_OF_SERVICE = ("suspended", "left")


@dataclass(frozen=True)
class Condition:
    name: str
    met: bool
    detail: str


def today() -> date:
    return local_date(utcnow())


def _valid_training(day: date | BindParameter[date]) -> ColumnElement[bool]:
    return and_(
        Certificate.kind == "training",
        Certificate.revoked_at.is_(None),
        or_(Certificate.valid_until.is_(None), Certificate.valid_until >= day),
    )


async def valid_training_certificates(
    session: AsyncSession, worker_id: uuid.UUID, day: date
) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Certificate)
        .where(Certificate.worker_id == worker_id, _valid_training(day))
    )
    return int(count or 0)


async def valid_training_certificates_of(
    session: AsyncSession, worker_ids: list[uuid.UUID], day: date
) -> dict[uuid.UUID, int]:
    """:func:`valid_training_certificates` of many workers in one statement (absent: 0)."""
    rows = await session.execute(_trained_counts(session), {"workers": worker_ids, "day": day})
    return {worker_id: int(count) for worker_id, count in rows.all()}


def trained_counts(dialect: str) -> Any:
    """(worker id, valid training certificates on ``:day``) of the workers ``:workers``."""
    return (
        select(Certificate.worker_id, func.count().label("count"))
        .where(
            one_of_param(Certificate.worker_id, "workers", dialect),
            _valid_training(bindparam("day")),
        )
        .group_by(Certificate.worker_id)
    )


_trained_counts = per_dialect(trained_counts)


def _check(name: str, required: bool, valid_until: date | None, day: date) -> Condition:
    if not required:
        return Condition(name, True, "not required by the policy")
    if valid_until is None:
        return Condition(name, False, "none on file")
    if valid_until < day:
        return Condition(name, False, f"expired on {valid_until.isoformat()}")
    return Condition(name, True, f"valid until {valid_until.isoformat()}")


async def evaluate(
    session: AsyncSession,
    worker_id: uuid.UUID,
    rules: CardRules,
    day: date,
    *,
    exception_reason: str | None = None,
    trained: int | None = None,
) -> list[Condition]:
    """Every eligibility condition of the policy, met or not, with why. ``trained``: the
    worker's valid training certificates on ``day``, when the caller counted them already."""
    facts = await session.get(CardWorkerFacts, worker_id)
    if facts is not None and trained is None:
        trained = await valid_training_certificates(session, worker_id, day)
    return judge(facts, rules, day, exception_reason=exception_reason, trained=trained or 0)


class Facts(Protocol):
    """What a card is judged on: a :class:`CardWorkerFacts` or a row of its columns."""

    identity_verified: bool
    registry_status: str | None
    health_check_valid_until: date | None
    no_criminal_record_valid_until: date | None
    company_id: uuid.UUID | None
    blacklisted: bool


def judge(
    facts: Facts | None,
    rules: CardRules,
    day: date,
    *,
    exception_reason: str | None,
    trained: int,
) -> list[Condition]:
    """:func:`evaluate` on facts at hand (None: the registry never announced the worker)."""
    if facts is None:
        return [Condition("registered", False, "the registry has not announced this worker")]
    verified = facts.identity_verified or not rules.require_identity_verified
    if facts.company_id is not None:
        company = Condition("company", True, "employed by a household-service company")
    elif not rules.require_company:
        company = Condition("company", True, "not required by the policy")
    elif exception_reason:
        company = Condition("company", True, f"officer's exception: {exception_reason}")
    else:
        company = Condition("company", False, "no employing company and no officer's exception")
    return [
        Condition(
            "identity_verified", verified, "verified" if verified else "identity not verified"
        ),
        Condition(
            "registry_standing",
            facts.registry_status not in OUT_OF_SERVICE,
            f"registry status {facts.registry_status or 'unknown'}",
        ),
        _check("health_check", rules.require_health_check, facts.health_check_valid_until, day),
        _check(
            "no_criminal_record",
            rules.require_no_criminal_record,
            facts.no_criminal_record_valid_until,
            day,
        ),
        Condition(
            "training_certificate",
            trained >= rules.min_training_certificates,
            f"{trained} valid training certificate(s), {rules.min_training_certificates} needed",
        ),
        company,
        Condition(
            "not_blacklisted",
            not facts.blacklisted,
            "on the blacklist" if facts.blacklisted else "not on the blacklist",
        ),
    ]


class CardState(Protocol):
    state: str
    suspension: str | None


def change_due(card: CardState | None, eligible: bool) -> str | None:
    """What re-judging does to a card: "issue", "suspend", "reinstate", or None (nothing)."""
    if card is None:
        return "issue" if eligible else None
    if card.state == "active" and not eligible:
        return "suspend"
    if card.state == "suspended" and card.suspension == CONDITIONS_LAPSED and eligible:
        return "reinstate"
    return None


def failing(conditions: list[Condition]) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in conditions if not c.met)[:500]


async def colour(session: AsyncSession, card: HomeServiceCard, rules: CardRules, day: date) -> str:
    """green, yellow (a check, the card or its insurance ends within the warning period, or a
    complaint against the worker is under investigation) or red (suspended, revoked, expired,
    or a condition no longer met)."""
    if card.state != "active" or card.valid_until < day:
        return "red"
    conditions = await evaluate(
        session, card.worker_id, rules, day, exception_reason=card.exception_reason
    )
    if not all(c.met for c in conditions):
        return "red"
    horizon = day + timedelta(days=rules.warning_days)
    facts = await session.get(CardWorkerFacts, card.worker_id)
    ends = [card.valid_until]
    if facts is not None:
        if rules.require_health_check and facts.health_check_valid_until:
            ends.append(facts.health_check_valid_until)
        if rules.require_no_criminal_record and facts.no_criminal_record_valid_until:
            ends.append(facts.no_criminal_record_valid_until)
    cover = await insurance.current_policy(session, card.id)
    ends.append(cover.ends_on if cover is not None else day)
    if min(ends) <= horizon or await under_investigation(session, card.worker_id):
        return "yellow"
    return "green"


async def under_investigation(session: AsyncSession, worker_id: uuid.UUID) -> bool:
    """A complaint against the worker that an officer has taken up (assigned or being
    investigated) and not yet decided. A complaint only filed does not count, so nobody can
    turn a card yellow just by filing; the worker's own disputes never do."""
    found = await session.scalar(
        select(CreditComplaint.id)
        .where(
            CreditComplaint.target_kind == "worker",
            CreditComplaint.target_id == worker_id,
            CreditComplaint.record_id.is_(None),
            CreditComplaint.status.in_(INVESTIGATING),
        )
        .limit(1)
    )
    return found is not None


async def card_of_worker(session: AsyncSession, worker_id: uuid.UUID) -> HomeServiceCard | None:
    return await session.scalar(
        select(HomeServiceCard).where(HomeServiceCard.worker_id == worker_id)
    )


async def get_card(session: AsyncSession, card_id: uuid.UUID) -> HomeServiceCard:
    card = await session.get(HomeServiceCard, card_id)
    if card is None:
        raise NotFound("card", card_id)
    return card


async def issue(
    session: AsyncSession,
    worker_id: uuid.UUID,
    version: int,
    rules: CardRules,
    *,
    exception_reason: str | None = None,
) -> HomeServiceCard:
    """Issue the card (conditions already checked), enrol its insurance, emit both events."""
    now = utcnow()
    day = local_date(now)
    seq = await next_seq(session, day.year, CARD_SERIES)
    if seq > 999_999:
        raise OverflowError(f"card numbers for {day.year} exhausted")
    card = HomeServiceCard(
        id=new_id(),
        number=f"{CARD_SERIES}-{day.year:04d}-{seq:06d}",
        verify_code=secrets.token_urlsafe(16),
        worker_id=worker_id,
        state="active",
        exception_reason=exception_reason,
        policy_version=version,
        issued_at=now,
        valid_until=add_years(day, rules.card_validity_years) - timedelta(days=1),
        expiry_announced=False,
        changed_at=now,
        version=1,
    )
    session.add(card)
    await session.flush()
    await publish(
        session,
        CardIssued(
            card_id=str(card.id),
            card_number=card.number,
            worker_id=str(worker_id),
            policy_version=version,
            issued_at=now,
            valid_until=card.valid_until,
            by_exception=exception_reason is not None,
        ),
    )
    await insurance.enrol(session, card, version, rules, day)
    return card


async def _changed(
    session: AsyncSession, card: HomeServiceCard, reason: str, rules: CardRules, day: date
) -> None:
    card.state_reason = reason[:500]
    card.changed_at = utcnow()
    card.version += 1
    await session.flush()
    await publish(
        session,
        CardStatusChanged(
            card_id=str(card.id),
            worker_id=str(card.worker_id),
            state=card.state,  # type: ignore[arg-type]
            colour=await colour(session, card, rules, day),  # type: ignore[arg-type]
            reason=card.state_reason or reason,
            valid_until=card.valid_until,
            changed_at=card.changed_at,
        ),
    )


async def suspend(
    session: AsyncSession, card: HomeServiceCard, why: str, reason: str, rules: CardRules, day: date
) -> None:
    if card.state != "active":
        raise Conflict(f"the card is {card.state}, not active", slug="card-not-active")
    card.state, card.suspension = "suspended", why
    await vc.set_card_status(session, card.id, suspended=True)
    await _changed(session, card, reason, rules, day)


async def reinstate(
    session: AsyncSession, card: HomeServiceCard, reason: str, rules: CardRules, day: date
) -> None:
    if card.state != "suspended":
        raise Conflict(f"the card is {card.state}, not suspended", slug="card-not-suspended")
    card.state, card.suspension = "active", None
    await vc.set_card_status(session, card.id, suspended=False)
    await _changed(session, card, reason, rules, day)


async def revoke(
    session: AsyncSession, card: HomeServiceCard, reason: str, rules: CardRules, day: date
) -> None:
    if card.state == "revoked":
        raise Conflict("the card is already revoked", slug="card-revoked")
    card.state, card.suspension = "revoked", None
    await vc.set_card_status(session, card.id, revoke=True)
    await _changed(session, card, reason, rules, day)


async def renew(
    session: AsyncSession, card: HomeServiceCard, version: int, rules: CardRules, day: date
) -> None:
    """A new validity period from today, under the current policy; the old VC is revoked (a
    new one, with the new validUntil, is minted on request) and the insurance renewed."""
    if card.state == "revoked":
        raise Conflict("a revoked card cannot be renewed", slug="card-revoked")
    conditions = await evaluate(
        session, card.worker_id, rules, day, exception_reason=card.exception_reason
    )
    if not all(c.met for c in conditions):
        raise not_eligible(conditions)
    await vc.set_card_status(session, card.id, revoke=True)
    card.valid_until = add_years(day, rules.card_validity_years) - timedelta(days=1)
    card.policy_version = version
    card.credential_id = None
    card.expiry_announced = False
    card.state, card.suspension = "active", None
    await _changed(session, card, "renewed", rules, day)
    cover = await insurance.current_policy(session, card.id)
    if cover is None or cover.ends_on < card.valid_until:
        await insurance.enrol(session, card, version, rules, day)


def not_eligible(conditions: list[Condition]) -> Problem:
    """409: the request is well-formed; the worker's file does not allow it (yet)."""
    return Problem(
        409,
        "not-eligible",
        "not eligible for the home-service certificate",
        failing(conditions),
        conditions=[{"name": c.name, "met": c.met, "detail": c.detail} for c in conditions],
    )


async def reevaluate(session: AsyncSession, worker_id: uuid.UUID, day: date | None = None) -> None:
    """Issue, suspend or reinstate the worker's card as the current facts and policy say."""
    await reevaluate_card(session, worker_id, await card_of_worker(session, worker_id), day)


async def reevaluate_card(
    session: AsyncSession,
    worker_id: uuid.UUID,
    card: HomeServiceCard | None,
    day: date | None = None,
    *,
    trained: int | None = None,
) -> None:
    """:func:`reevaluate` for a caller that has loaded the worker's ``card`` (None: none) and
    perhaps counted their valid training certificates on ``day`` (``trained``)."""
    day = day or today()
    version, rules = await policy.current(session)
    exception = card.exception_reason if card is not None else None
    conditions = await evaluate(
        session, worker_id, rules, day, exception_reason=exception, trained=trained
    )
    change = change_due(card, all(c.met for c in conditions))
    if change == "issue":
        await issue(session, worker_id, version, rules)
    elif change == "suspend" and card is not None:
        await suspend(session, card, CONDITIONS_LAPSED, failing(conditions), rules, day)
    elif change == "reinstate" and card is not None:
        await reinstate(session, card, "conditions met again", rules, day)


async def sweep(session: AsyncSession, day: date | None = None) -> int:
    """Re-judge every card that time may have changed; returns how many changed state."""
    day = day or today()
    rows = await session.execute(
        select(HomeServiceCard.worker_id, HomeServiceCard.version).where(
            or_(
                HomeServiceCard.state == "active",
                (HomeServiceCard.state == "suspended")
                & (HomeServiceCard.suspension == CONDITIONS_LAPSED),
            )
        )
    )
    changed = 0
    for worker_id, version in rows.all():
        await reevaluate(session, worker_id, day)
        card = await card_of_worker(session, worker_id)
        changed += card is not None and card.version != version
    expired = await session.scalars(
        select(HomeServiceCard).where(
            HomeServiceCard.state != "revoked",
            HomeServiceCard.valid_until < day,
            HomeServiceCard.expiry_announced.is_(False),
        )
    )
    _, rules = await policy.current(session)
    for card in expired.all():
        card.expiry_announced = True
        await _changed(session, card, f"expired on {card.valid_until.isoformat()}", rules, day)
        changed += 1
    return changed


async def officer_issue(
    session: AsyncSession, worker_id: uuid.UUID, exception_reason: str | None
) -> HomeServiceCard:
    """An officer's request: the card, or 409 listing every condition and whether it is met
    (404 for a worker the registry has not announced)."""
    if await session.get(CardWorkerFacts, worker_id) is None:
        raise NotFound("worker", worker_id)
    if await card_of_worker(session, worker_id) is not None:
        raise Conflict("the worker already has a card", slug="card-exists")
    version, rules = await policy.current(session)
    day = today()
    conditions = await evaluate(session, worker_id, rules, day, exception_reason=exception_reason)
    if not all(c.met for c in conditions):
        raise not_eligible(conditions)
    return await issue(session, worker_id, version, rules, exception_reason=exception_reason)


async def coverage(session: AsyncSession, day: date | None = None) -> list[tuple[str, int, int]]:
    """(county, active workers, of them holding an active unexpired card) per county."""
    day = day or today()
    active = CardWorkerFacts.registry_status == "active"
    holders = (
        select(CardWorkerFacts.county, func.count())
        .join(HomeServiceCard, HomeServiceCard.worker_id == CardWorkerFacts.worker_id)
        .where(active, HomeServiceCard.state == "active", HomeServiceCard.valid_until >= day)
        .group_by(CardWorkerFacts.county)
    )
    workers = (
        select(CardWorkerFacts.county, func.count()).where(active).group_by(CardWorkerFacts.county)
    )
    held = {county: n for county, n in (await session.execute(holders)).all()}
    return [
        (county or "other", n, held.get(county, 0))
        for county, n in sorted((await session.execute(workers)).all(), key=lambda r: r[0] or "")
    ]
