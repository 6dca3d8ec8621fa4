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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CreditListEntryAdded, CreditListEntryRemoved
from services.credit.files.models import CreditListEntry, CreditParty, CreditRecord
from services.credit.files.policy import CreditRules
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.types import utcnow


def _live(now: datetime) -> tuple[object, ...]:
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
        CreditListEntry.party_id == party_id, *_live(now or utcnow())
    )
    if list_kind is not None:
        query = query.where(CreditListEntry.list_kind == list_kind)
    return list((await session.scalars(query.order_by(CreditListEntry.id))).all())


async def is_blacklisted(session: AsyncSession, party_id: uuid.UUID) -> bool:
    """Whether the party is on the black list now (for the home-service certificate etc.)."""
    return bool(await active_entries(session, party_id, list_kind="black"))


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
    now = now or utcnow()
    days = rules.black_publication_days if list_kind == "black" else rules.red_publication_days
    entry = CreditListEntry(
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
        policy_version=policy_version,
        created_by=created_by[:128],
    )
    session.add(entry)
    await session.flush()
    await publish(session, CreditListEntryAdded(**_carried(entry)))
    if list_kind == "black":
        for red in await active_entries(session, party.party_id, now, "red"):
            await end_entry(session, red, "level_changed", now)
    return entry


async def end_entry(
    session: AsyncSession, entry: CreditListEntry, reason: str, now: datetime | None = None
) -> None:
    entry.ended_at = now or utcnow()
    entry.end_reason = reason
    await session.flush()
    await publish(
        session,
        CreditListEntryRemoved(**_carried(entry), ended_at=entry.ended_at, end_reason=reason),  # type: ignore[arg-type]
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


async def apply_level(
    session: AsyncSession,
    party: CreditParty,
    previous_level: str | None,
    policy_version: int,
    rules: CreditRules,
    now: datetime,
) -> None:
    """The automatic list rules, after ``party``'s level moved from ``previous_level``."""
    level = party.level
    if previous_level is not None and previous_level in (
        rules.blacklist_level,
        rules.redlist_level,
    ):
        for entry in await active_entries(session, party.party_id, now):
            if entry.basis == "automatic":
                await end_entry(session, entry, "level_changed", now)
    if level == rules.blacklist_level:
        if not await active_entries(session, party.party_id, now, "black"):
            await add_entry(
                session,
                party,
                "black",
                basis="automatic",
                reason=f"Credit level {level} (score {party.score})",
                policy_version=policy_version,
                rules=rules,
                created_by="system",
                now=now,
            )
    elif level == rules.redlist_level and not await _has_negative(session, party.party_id, now):
        if not await active_entries(session, party.party_id, now):
            await add_entry(
                session,
                party,
                "red",
                basis="automatic",
                reason=f"Credit level {level} (score {party.score}) with no negative record",
                policy_version=policy_version,
                rules=rules,
                created_by="system",
                now=now,
            )


async def refresh_red(
    session: AsyncSession,
    party: CreditParty,
    policy_version: int,
    rules: CreditRules,
    records: Sequence[CreditRecord],
    now: datetime,
) -> None:
    """A red-listed party with a negative record in force leaves the red list."""
    if party.level != rules.redlist_level:
        return
    if any(r.polarity == "negative" for r in records):
        for entry in await active_entries(session, party.party_id, now, "red"):
            await end_entry(session, entry, "level_changed", now)


async def _has_negative(session: AsyncSession, party_id: uuid.UUID, now: datetime) -> bool:
    from services.credit.files.service import in_force

    query = select(CreditRecord.id).where(
        CreditRecord.party_id == party_id, CreditRecord.polarity == "negative", *in_force(now)
    )
    return (await session.scalar(query.limit(1))) is not None


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
