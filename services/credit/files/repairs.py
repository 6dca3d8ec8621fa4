"""Credit repair (信用修复, NDRC Order No. 58): after the policy's minimum period a party applies
with proof of correction; an officer approves or rejects with reasons. Approval ends the
record's publication at once, ends the list entries resting on it (and the automatic black
entry), and recomputes the level."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.files import lists, service
from services.credit.files.models import CreditParty, CreditRecord, CreditRepair
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.types import utcnow


async def apply(
    session: AsyncSession, principal: Principal, record_id: uuid.UUID, proof: str
) -> CreditRepair:
    record = await session.get(CreditRecord, record_id)
    if record is None or not (
        principal.acts_for(record.party_id) and principal.role == record.party_kind
    ):
        raise InvalidField("record_id", "no record with this id in your file", "unknown-record")
    now = utcnow()
    if record.polarity != "negative":
        raise InvalidField("record_id", "only negative records are repaired", "not-negative")
    in_force = await service.records_in_force(session, record.party_id, now)
    if record.id not in {r.id for r in in_force}:
        raise Conflict("The record no longer counts; there is nothing to repair", "not-in-force")
    policy = await service.current_policy(session)
    earliest = record.effective_from + timedelta(
        days=policy.rules.repair_min_days[record.severity - 1]
    )
    if now < earliest:
        raise Conflict(
            f"A repair may be applied for from {earliest.isoformat()}",
            "repair-too-early",
            earliest=earliest.isoformat(),
            policy_version=policy.version,
        )
    pending = await session.scalar(
        select(CreditRepair.id).where(
            CreditRepair.record_id == record.id, CreditRepair.status == "pending"
        )
    )
    if pending is not None:
        raise Conflict("A repair of this record is already pending", "repair-pending")
    repair = CreditRepair(
        id=new_id(),
        record_id=record.id,
        party_id=record.party_id,
        party_kind=record.party_kind,
        applicant_subject=principal.subject[:128],
        proof=proof,
        status="pending",
        policy_version=policy.version,
        created_at=now,
    )
    session.add(repair)
    await session.flush()
    return repair


async def get(session: AsyncSession, repair_id: uuid.UUID) -> CreditRepair:
    repair = await session.get(CreditRepair, repair_id)
    if repair is None:
        raise NotFound("repair", repair_id)
    return repair


def may_see(principal: Principal, repair: CreditRepair) -> bool:
    return principal.is_privileged or (
        principal.acts_for(repair.party_id) and principal.role == repair.party_kind
    )


async def decide(
    session: AsyncSession, principal: Principal, repair: CreditRepair, approve: bool, reason: str
) -> None:
    if repair.status != "pending":
        raise Conflict(f"The repair is already {repair.status}", "repair-decided")
    now = utcnow()
    repair.status = "approved" if approve else "rejected"
    repair.decided_by = principal.subject[:128]
    repair.decision_reason = reason
    repair.decided_at = now
    if not approve:
        await session.flush()
        return
    record = await session.get(CreditRecord, repair.record_id)
    assert record is not None
    record.repaired_at = now
    record.publish_until = now
    for entry in await lists.active_entries(session, record.party_id, now, "black"):
        if entry.record_id == record.id or entry.basis == "automatic":
            await lists.end_entry(session, entry, "repaired", now)
    party = await session.get(CreditParty, record.party_id)
    assert party is not None
    await service.recompute(session, party, await service.current_policy(session), now)
