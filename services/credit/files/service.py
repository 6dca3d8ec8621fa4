"""Credit files: opening them, adding records, and recomputing score and level.

Every operation runs inside the caller's transaction; a level change and its event commit
together (outbox).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CertificateIssued, CreditLevelChanged
from contracts.envelope import EventData
from services.credit.files import lists
from services.credit.files.models import CreditParty, CreditPolicy, CreditRecord
from services.credit.files.policy import Counted, CreditRules, explain, polarity_of
from services.kit.dialect import dialect_insert, per_dialect
from services.kit.errors import NotFound, Problem
from services.kit.ids import new_id
from services.kit.memo import memoised
from services.kit.one_of import one_of_param
from services.kit.outbox import publish
from services.kit.types import utcnow


@dataclass(frozen=True)
class Policy:
    version: int
    rules: CreditRules


async def current_policy(session: AsyncSession) -> Policy:
    return await memoised(session, "credit.policy", lambda: _current_policy(session))


#: The newest policy: built once (building and keying the ORM SELECT cost ~70 µs per event).
NEWEST_POLICY = (
    select(CreditPolicy.version, CreditPolicy.rules).order_by(CreditPolicy.version.desc()).limit(1)
)


def policy_of(row: Any | None) -> Policy:
    """The policy in a row of :data:`NEWEST_POLICY` (None: 503, none is stored)."""
    if row is None:  # the migration stores version 1
        raise Problem(503, "no-credit-policy", "No credit policy", "No credit policy is stored")
    return Policy(row.version, CreditRules.model_validate(row.rules))


async def _current_policy(session: AsyncSession) -> Policy:
    return policy_of((await session.execute(NEWEST_POLICY)).first())


async def add_policy(
    session: AsyncSession, rules: CreditRules, *, reason: str, created_by: str
) -> CreditPolicy:
    latest = await session.scalar(select(func.max(CreditPolicy.version)))
    row = CreditPolicy(
        version=(latest or 0) + 1,
        rules=rules.model_dump(mode="json"),
        reason=reason,
        created_by=created_by[:128],
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def open_file(
    session: AsyncSession,
    party_id: uuid.UUID,
    party_kind: str,
    *,
    name: str | None = None,
    policy: Policy | None = None,
) -> CreditParty:
    """The party's file, opened (at the base score) if it has none; fills in a missing name."""
    party = await session.get(CreditParty, party_id)
    if party is not None:
        if name is not None and party.name != name:
            party.name = name
        return party
    policy = policy or await current_policy(session)
    now = utcnow()
    score, level, _ = explain(policy.rules, [])
    stmt = dialect_insert(session, CreditParty).values(
        party_id=party_id,
        party_kind=party_kind,
        name=name,
        opened_at=now,
        score=score,
        level=level,
        policy_version=policy.version,
        computed_at=now,
        explanation=[],
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[CreditParty.party_id]))
    party = await session.get(CreditParty, party_id, populate_existing=True)
    assert party is not None
    if party.opened_at == now:
        await publish(session, level_event(party, None, None))
    return party


async def get_file(session: AsyncSession, party_kind: str, party_id: uuid.UUID) -> CreditParty:
    party = await session.get(CreditParty, party_id)
    if party is None or party.party_kind != party_kind:
        raise NotFound("credit file", party_id)
    return party


async def add_record(
    session: AsyncSession,
    *,
    party_id: uuid.UUID,
    party_kind: str,
    kind: str,
    severity: int,
    source: str,
    source_ref: str,
    reason: str,
    recorded_by: str,
    effective_from: datetime | None = None,
    effective_until: datetime | None = None,
    dedupe_key: str | None = None,
    supersedes: CreditRecord | None = None,
    policy: Policy | None = None,
) -> CreditRecord | None:
    """Add a record to the party's file and recompute; None if ``dedupe_key`` was seen."""
    if dedupe_key is not None:
        seen = await session.scalar(
            select(CreditRecord.id).where(CreditRecord.dedupe_key == dedupe_key)
        )
        if seen is not None:
            return None
    policy = policy or await current_policy(session)
    party = await open_file(session, party_id, party_kind, policy=policy)
    now = utcnow()
    start = effective_from or now
    polarity = polarity_of(kind)
    publish_until = None
    if polarity == "negative":
        days = policy.rules.negative_publication_days[severity - 1]
        publish_until = start + timedelta(days=days)
    record = CreditRecord(
        id=new_id(),
        party_id=party_id,
        party_kind=party_kind,
        kind=kind,
        polarity=polarity,
        severity=severity,
        source=source,
        source_ref=source_ref[:200],
        dedupe_key=dedupe_key,
        reason=reason,
        effective_from=start,
        effective_until=effective_until,
        publish_until=publish_until,
        supersedes_id=supersedes.id if supersedes is not None else None,
        recorded_by=recorded_by[:128],
        created_at=now,
    )
    session.add(record)
    if supersedes is not None:
        supersedes.superseded_by_id = record.id
    await session.flush()
    await recompute(session, party, policy)
    return record


def in_force(now: datetime | BindParameter[datetime]) -> Sequence[object]:
    """Conditions of a record that counts at ``now``."""
    return (
        CreditRecord.superseded_by_id.is_(None),
        CreditRecord.repaired_at.is_(None),
        CreditRecord.withdrawn_at.is_(None),
        CreditRecord.effective_from <= now,
        or_(CreditRecord.effective_until.is_(None), CreditRecord.effective_until > now),
        or_(CreditRecord.publish_until.is_(None), CreditRecord.publish_until > now),
    )


async def records_in_force(
    session: AsyncSession, party_id: uuid.UUID, now: datetime
) -> list[CreditRecord]:
    query = select(CreditRecord).where(CreditRecord.party_id == party_id, *in_force(now))
    return list((await session.scalars(query)).all())


async def recompute(
    session: AsyncSession, party: CreditParty, policy: Policy, now: datetime | None = None
) -> bool:
    """Recompute the party's score and level, emit CreditLevelChanged if the level moved,
    and apply the automatic list rules. Returns whether the level changed."""
    return await recompute_many(session, [party], policy, now) > 0


@dataclass
class PartyState:
    """What recomputing needs of a file, read without the ORM (bulk recompute)."""

    party_id: uuid.UUID
    party_kind: str
    score: int
    level: str
    policy_version: int
    computed_at: datetime
    explanation: list[dict[str, object]]


RECORD_COLUMNS = (
    CreditRecord.party_id,
    CreditRecord.id,
    CreditRecord.kind,
    CreditRecord.severity,
    CreditRecord.effective_from,
    CreditRecord.polarity,
)


def records_in_force_of(dialect: str) -> Any:
    """The records in force at ``:now`` of the files ``:parties`` (:data:`RECORD_COLUMNS`)."""
    return select(*RECORD_COLUMNS).where(
        one_of_param(CreditRecord.party_id, "parties", dialect), *in_force(bindparam("now"))
    )


_records_in_force_of = per_dialect(records_in_force_of)


async def _score(
    session: AsyncSession,
    parties: Sequence[CreditParty | PartyState],
    policy: Policy,
    now: datetime,
) -> tuple[int, list[EventData]]:
    """Set score, level, version and explanation on ``parties`` and apply the list rules;
    (level changes, events to publish)."""
    ids = [p.party_id for p in parties]
    by_party: dict[uuid.UUID, list[Counted]] = {}
    negative: set[uuid.UUID] = set()
    found = await session.execute(_records_in_force_of(session), {"parties": ids, "now": now})
    for party_id, record_id, kind, severity, effective_from, polarity in found.all():
        by_party.setdefault(party_id, []).append(
            Counted(str(record_id), kind, severity, effective_from)
        )
        if polarity == "negative":
            negative.add(party_id)
    active = await lists.active_by_party(session, ids, now)
    events: list[EventData] = []
    changed = 0
    for party in parties:
        score, level, lines = explain(policy.rules, by_party.get(party.party_id, []))
        previous_level, previous_score = party.level, party.score
        party.score, party.level = score, level
        party.policy_version, party.computed_at = policy.version, now
        party.explanation = lines
        if level != previous_level:
            changed += 1
            events.append(level_event(party, previous_level, previous_score))
        events += lists.apply_rules(
            session,
            party,
            previous_level=previous_level,
            active=active.get(party.party_id, []),
            has_negative=party.party_id in negative,
            policy_version=policy.version,
            rules=policy.rules,
            now=now,
        )
    return changed, events


async def recompute_many(
    session: AsyncSession, parties: list[CreditParty], policy: Policy, now: datetime | None = None
) -> int:
    """Recompute ``parties`` (ORM rows), reading their records and list entries in one query
    each and writing all events in one insert; the number of level changes."""
    changed, events = await _score(session, parties, policy, now or utcnow())
    await session.flush()
    await lists.publish_changes(session, events)
    return changed


def level_event(
    party: CreditParty | PartyState, previous_level: str | None, previous_score: int | None
) -> CreditLevelChanged:
    return CreditLevelChanged(
        party_id=str(party.party_id),
        party_kind=party.party_kind,  # type: ignore[arg-type]
        level=party.level,  # type: ignore[arg-type]
        previous_level=previous_level,  # type: ignore[arg-type]
        score=party.score,
        previous_score=previous_score,
        policy_version=party.policy_version,
        changed_at=party.computed_at,
    )


_PARTIES = CreditParty.__table__
UPDATE_PARTY = (
    update(_PARTIES)
    .where(_PARTIES.c.party_id == bindparam("b_party_id"))
    .values(
        score=bindparam("b_score"),
        level=bindparam("b_level"),
        policy_version=bindparam("b_policy_version"),
        computed_at=bindparam("b_computed_at"),
        explanation=bindparam("b_explanation", type_=_PARTIES.c.explanation.type),
    )
)


def update_params(party: PartyState) -> dict[str, object]:
    """The parameters of :data:`UPDATE_PARTY` that store ``party``'s new score."""
    return {
        "b_party_id": party.party_id,
        "b_score": party.score,
        "b_level": party.level,
        "b_policy_version": party.policy_version,
        "b_computed_at": party.computed_at,
        "b_explanation": party.explanation,
    }


async def recompute_all(
    session_factory: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    policy: Policy,
    *,
    batch: int = 2000,
) -> tuple[int, int]:
    """Recompute every file under ``policy``, ``batch`` parties per transaction (without the
    ORM: one read of files, records and list entries and one write of each per batch).

    ``session_factory`` is ``ctx.db.write``. Returns (parties recomputed, levels changed).
    """
    done = changed = 0
    after: uuid.UUID | None = None
    columns = (
        CreditParty.party_id,
        CreditParty.party_kind,
        CreditParty.score,
        CreditParty.level,
        CreditParty.policy_version,
        CreditParty.computed_at,
        CreditParty.explanation,
    )
    while True:
        async with session_factory() as session:
            query = select(*columns).order_by(CreditParty.party_id).limit(batch)
            if after is not None:
                query = query.where(CreditParty.party_id > after)
            parties = [PartyState(*row) for row in (await session.execute(query)).all()]
            if not parties:
                return done, changed
            moved, events = await _score(session, parties, policy, utcnow())
            await session.execute(UPDATE_PARTY, [update_params(p) for p in parties])
            await session.flush()
            await lists.publish_changes(session, events)
            changed += moved
            done += len(parties)
            after = parties[-1].party_id


async def sweep(session: AsyncSession, now: datetime | None = None) -> tuple[int, int]:
    """Time-driven changes: end list entries whose period is over, and recompute files whose
    records started or stopped counting since they were last computed.

    Returns (entries ended, files recomputed).
    """
    now = now or utcnow()
    ended = await lists.expire(session, now)
    moved = or_(
        (CreditRecord.publish_until <= now)
        & (CreditRecord.publish_until > CreditParty.computed_at),
        (CreditRecord.effective_until <= now)
        & (CreditRecord.effective_until > CreditParty.computed_at),
        (CreditRecord.effective_from <= now)
        & (CreditRecord.effective_from > CreditParty.computed_at),
    )
    ids = (
        select(CreditRecord.party_id)
        .join(CreditParty, CreditRecord.party_id == CreditParty.party_id)
        .where(moved)
        .distinct()
        .limit(500)
    )
    query = select(CreditParty).where(CreditParty.party_id.in_(ids.scalar_subquery()))
    parties = list((await session.scalars(query)).all())
    if parties:
        policy = await current_policy(session)
        for party in parties:
            await recompute(session, party, policy, now)
    return ended, len(parties)


async def record_certificate(session: AsyncSession, issued: CertificateIssued) -> None:
    """A certificate issued to a worker is a positive record, written in the issuing
    transaction (credit never consumes its own stream); a 技术能手 certificate is a
    ``skill_title`` record."""
    await add_record(
        session,
        party_id=uuid.UUID(issued.worker_id),
        party_kind="worker",
        # A 技术能手 title weighs as a title (the policy's skill_title), not as a course.
        kind="skill_title" if issued.kind == "skill_title" else "certificate",
        severity=1,
        source="event",
        source_ref=f"{issued.event_type}:{issued.certificate_id}",
        reason=f"{issued.kind} certificate {issued.certificate_number}",
        recorded_by="system",
        effective_from=issued.issued_at,
        dedupe_key=f"certificate:{issued.certificate_id}",
    )
