"""Red and black lists (诚信红名单 / 失信黑名单): entries, their publication periods, and the
automatic rules of the policy.

Automatic entries follow the level: entering the policy's ``blacklist_level`` blacklists, leaving
it ends that entry; entering ``redlist_level`` with no negative record in force red-lists, and
leaving it or a new negative record ends that. Officer entries need a legal basis and end when
their period ends, when the record they rest on is repaired, or by an officer. Every entry and
end emits an event carrying the whole entry.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CreditListEntryAdded, CreditListEntryRemoved
from contracts.envelope import EventData
from services.credit.credentials import facts as card_facts
from services.credit.files.models import CreditListEntry, CreditParty
from services.credit.files.policy import CreditRules
from services.kit.dialect import per_dialect
from services.kit.ids import new_id
from services.kit.one_of import one_of_param
from services.kit.outbox import publish_many
from services.kit.types import utcnow


class Party(Protocol):
    """What the list rules read of a file (an ORM row or a bulk-recompute state)."""

    party_id: uuid.UUID
    party_kind: str
    level: str
    score: int


def live_conditions(now: datetime | BindParameter[datetime]) -> tuple[object, ...]:
    return (
        CreditListEntry.ended_at.is_(None),
        CreditListEntry.starts_at <= now,
        CreditListEntry.publish_until > now,
    )


async def active_entries(
    session: AsyncSession,
    party_id: uuid.UUID,
    now: datetime | None = None,
    list_kind: str | None = None,
) -> list[CreditListEntry]:
    query = select(CreditListEntry).where(
        CreditListEntry.party_id == party_id, *live_conditions(now or utcnow())
    )
    if list_kind is not None:
        query = query.where(CreditListEntry.list_kind == list_kind)
    return list((await session.scalars(query.order_by(CreditListEntry.id))).all())


async def is_blacklisted(session: AsyncSession, party_id: uuid.UUID) -> bool:
    """Whether the party is on the black list now (for the home-service certificate etc.)."""
    return bool(await active_entries(session, party_id, list_kind="black"))


def new_entry(
    party: Party,
    list_kind: str,
    *,
    basis: str,
    reason: str,
    policy_version: int,
    rules: CreditRules,
    created_by: str,
    now: datetime,
    legal_basis: str | None = None,
    record_id: uuid.UUID | None = None,
) -> CreditListEntry:
    days = rules.black_publication_days if list_kind == "black" else rules.red_publication_days
    return CreditListEntry(
        id=new_id(),
        public_code=secrets.token_urlsafe(12),
        list_kind=list_kind,
        party_id=party.party_id,
        party_kind=party.party_kind,
        basis=basis,
        legal_basis=legal_basis,
        reason=reason,
        record_id=record_id,
        starts_at=now,
        publish_until=now + timedelta(days=days),
        ended_at=None,
        policy_version=policy_version,
        created_by=created_by[:128],
    )


def added(entry: CreditListEntry) -> CreditListEntryAdded:
    return CreditListEntryAdded(**_carried(entry))  # type: ignore[arg-type]


def ended(entry: CreditListEntry, reason: str, now: datetime) -> CreditListEntryRemoved:
    entry.ended_at = now
    entry.end_reason = reason
    return CreditListEntryRemoved(**_carried(entry), ended_at=now, end_reason=reason)  # type: ignore[arg-type]


async def add_entry(
    session: AsyncSession,
    party: CreditParty,
    list_kind: str,
    *,
    basis: str,
    reason: str,
    policy_version: int,
    rules: CreditRules,
    created_by: str,
    legal_basis: str | None = None,
    record_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> CreditListEntry:
    """An entry (an officer's decision); a black entry ends the party's red ones."""
    now = now or utcnow()
    entry = new_entry(
        party,
        list_kind,
        basis=basis,
        reason=reason,
        policy_version=policy_version,
        rules=rules,
        created_by=created_by,
        now=now,
        legal_basis=legal_basis,
        record_id=record_id,
    )
    events: list[EventData] = []
    if list_kind == "black":
        for red in await active_entries(session, party.party_id, now, "red"):
            events.append(ended(red, "level_changed", now))
    session.add(entry)
    events.append(added(entry))
    await session.flush()
    await publish_changes(session, events)
    return entry


async def end_entry(
    session: AsyncSession, entry: CreditListEntry, reason: str, now: datetime | None = None
) -> None:
    event = ended(entry, reason, now or utcnow())
    await session.flush()
    await publish_changes(session, [event])


async def publish_changes(session: AsyncSession, events: Sequence[EventData]) -> None:
    """Publish credit-file events; a worker's home-service card follows their blacklisting in
    the same transaction (credit never consumes its own stream)."""
    await publish_many(session, events)
    workers = {
        uuid.UUID(event.party_id)
        for event in events
        if isinstance(event, CreditListEntryAdded | CreditListEntryRemoved)
        and event.list_kind == "black"
        and event.party_kind == "worker"
    }
    for worker_id in sorted(workers):
        await card_facts.set_blacklisted(
            session, worker_id, await is_blacklisted(session, worker_id)
        )


def _carried(entry: CreditListEntry) -> dict[str, object]:
    return {
        "entry_id": str(entry.id),
        "list_kind": entry.list_kind,
        "party_id": str(entry.party_id),
        "party_kind": entry.party_kind,
        "basis": entry.basis,
        "legal_basis": entry.legal_basis,
        "starts_at": entry.starts_at,
        "publish_until": entry.publish_until,
        "policy_version": entry.policy_version,
    }


def apply_rules(
    session: AsyncSession,
    party: Party,
    *,
    previous_level: str | None,
    active: list[CreditListEntry],
    has_negative: bool,
    policy_version: int,
    rules: CreditRules,
    now: datetime,
) -> list[EventData]:
    """The automatic list rules after ``party`` was recomputed (``previous_level`` is its level
    before, equal to the current one if it did not move); ``active`` are its entries in
    publication. Adds and ends entries in the session; returns the events to publish."""
    level = party.level
    events: list[EventData] = []
    live = list(active)

    def end(entry: CreditListEntry, reason: str) -> None:
        events.append(ended(entry, reason, now))
        live.remove(entry)

    moved = previous_level is not None and previous_level != level
    if moved and previous_level in (rules.blacklist_level, rules.redlist_level):
        for entry in [e for e in live if e.basis == "automatic"]:
            end(entry, "level_changed")
    if moved and level == rules.blacklist_level:
        for entry in [e for e in live if e.list_kind == "red"]:
            end(entry, "level_changed")
        if not any(e.list_kind == "black" for e in live):
            entry = new_entry(
                party,
                "black",
                basis="automatic",
                reason=f"Credit level {level} (score {party.score})",
                policy_version=policy_version,
                rules=rules,
                created_by="system",
                now=now,
            )
            session.add(entry)
            events.append(added(entry))
    elif moved and level == rules.redlist_level and not has_negative and not live:
        entry = new_entry(
            party,
            "red",
            basis="automatic",
            reason=f"Credit level {level} (score {party.score}) with no negative record",
            policy_version=policy_version,
            rules=rules,
            created_by="system",
            now=now,
        )
        session.add(entry)
        events.append(added(entry))
    if level == rules.redlist_level and has_negative:
        for entry in [e for e in live if e.list_kind == "red"]:
            end(entry, "level_changed")
    return events


@per_dialect
def _live_entries_of(dialect: str) -> Any:
    """The entries in publication at ``:now`` of the parties ``:parties``, in id order."""
    return (
        select(CreditListEntry)
        .where(
            one_of_param(CreditListEntry.party_id, "parties", dialect),
            *live_conditions(bindparam("now")),
        )
        .order_by(CreditListEntry.id)
    )


async def active_by_party(
    session: AsyncSession, party_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[CreditListEntry]]:
    found: dict[uuid.UUID, list[CreditListEntry]] = {}
    entries = await session.scalars(_live_entries_of(session), {"parties": party_ids, "now": now})
    for entry in entries.all():
        found.setdefault(entry.party_id, []).append(entry)
    return found


async def expire(session: AsyncSession, now: datetime | None = None, limit: int = 500) -> int:
    """End entries whose publication period is over; the number ended."""
    now = now or utcnow()
    query = (
        select(CreditListEntry)
        .where(CreditListEntry.ended_at.is_(None), CreditListEntry.publish_until <= now)
        .order_by(CreditListEntry.id)
        .limit(limit)
    )
    entries = list((await session.scalars(query)).all())
    for entry in entries:
        await end_entry(session, entry, "period_ended", now)
    return len(entries)
