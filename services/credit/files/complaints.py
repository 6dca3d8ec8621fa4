"""Complaints (投诉) and disputes: filed → assigned → investigated with evidence → decided.

Every step is kept in ``credit_complaint_steps``. An upheld complaint adds a negative record to
the target's file; an upheld dispute withdraws the disputed record, or supersedes it with the
officer's correction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.files import service
from services.credit.files.models import (
    CreditComplaint,
    CreditComplaintStep,
    CreditParty,
    CreditRecord,
)
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.types import utcnow

OPEN = ("filed", "assigned", "investigating")


def _step(
    complaint_id: uuid.UUID,
    step: str,
    principal: Principal,
    note: str,
    attachment: dict[str, Any] | None = None,
) -> CreditComplaintStep:
    return CreditComplaintStep(
        id=new_id(),
        complaint_id=complaint_id,
        step=step,
        actor_role=principal.role,
        actor_subject=principal.subject[:128],
        note=note,
        attachment=attachment,
        at=utcnow(),
    )


async def file_complaint(
    session: AsyncSession,
    principal: Principal,
    *,
    target_kind: str,
    target_id: uuid.UUID,
    category: str,
    description: str,
    record_id: uuid.UUID | None,
) -> CreditComplaint:
    target = await session.get(CreditParty, target_id)
    if target is None or target.party_kind != target_kind:
        raise InvalidField("target_id", "no credit file of this kind has this id", "unknown-party")
    own = principal.party_id == target_id and principal.role == target_kind
    if record_id is not None:
        record = await session.get(CreditRecord, record_id)
        if not own:
            raise InvalidField("record_id", "only the party itself disputes its records")
        if record is None or record.party_id != target_id:
            raise InvalidField("record_id", "no record with this id in your file", "unknown-record")
        category = "record_dispute"
    elif own or principal.party_id is None:
        raise InvalidField("target_id", "a complaint is about another party")
    elif category == "record_dispute":
        raise InvalidField("category", "a record dispute names record_id")
    policy = await service.current_policy(session)
    now = utcnow()
    complaint = CreditComplaint(
        id=new_id(),
        complainant_role=principal.role,
        complainant_party_id=principal.party_id,
        complainant_subject=principal.subject[:128],
        target_kind=target_kind,
        target_id=target_id,
        record_id=record_id,
        category=category,
        description=description,
        status="filed",
        due_at=now + timedelta(days=policy.rules.complaint_decision_days),
        policy_version=policy.version,
        created_at=now,
    )
    session.add(complaint)
    session.add(_step(complaint.id, "filed", principal, description))
    await session.flush()
    return complaint


async def get(session: AsyncSession, complaint_id: uuid.UUID) -> CreditComplaint:
    complaint = await session.get(CreditComplaint, complaint_id)
    if complaint is None:
        raise NotFound("complaint", complaint_id)
    return complaint


def may_see(principal: Principal, complaint: CreditComplaint) -> bool:
    return (
        principal.is_privileged
        or principal.subject == complaint.complainant_subject
        or (principal.acts_for(complaint.target_id) and principal.role == complaint.target_kind)
    )


async def steps(session: AsyncSession, complaint_id: uuid.UUID) -> list[CreditComplaintStep]:
    query = (
        select(CreditComplaintStep)
        .where(CreditComplaintStep.complaint_id == complaint_id)
        .order_by(CreditComplaintStep.id)
    )
    return list((await session.scalars(query)).all())


def _open(complaint: CreditComplaint) -> None:
    if complaint.status not in OPEN:
        raise Conflict(f"The complaint is already {complaint.status}", "complaint-decided")


async def assign(
    session: AsyncSession, principal: Principal, complaint: CreditComplaint, assignee: str
) -> None:
    _open(complaint)
    complaint.assignee = assignee
    if complaint.status == "filed":
        complaint.status = "assigned"
    session.add(_step(complaint.id, "assigned", principal, f"Assigned to {assignee}"))
    await session.flush()


async def add_evidence(
    session: AsyncSession,
    principal: Principal,
    complaint: CreditComplaint,
    note: str,
    attachment: dict[str, Any] | None,
) -> None:
    _open(complaint)
    if complaint.status == "assigned":
        complaint.status = "investigating"
    session.add(_step(complaint.id, "evidence", principal, note, attachment))
    await session.flush()


async def decide(
    session: AsyncSession,
    principal: Principal,
    complaint: CreditComplaint,
    *,
    upheld: bool,
    reason: str,
    record_kind: str,
    severity: int,
    occurred_at: datetime | None,
) -> CreditRecord | None:
    """Decide the complaint; the record it produced, if any."""
    _open(complaint)
    if complaint.assignee is None:
        raise Conflict("Assign the complaint before deciding it", "complaint-unassigned")
    now = utcnow()
    complaint.status = "upheld" if upheld else "rejected"
    complaint.decided_at = now
    complaint.decision_reason = reason
    session.add(_step(complaint.id, "decided", principal, f"{complaint.status}: {reason}"))
    record = None
    if upheld and complaint.record_id is not None:
        await _withdraw(session, complaint)
    elif upheld:
        record = await service.add_record(
            session,
            party_id=complaint.target_id,
            party_kind=complaint.target_kind,
            kind=record_kind,
            severity=severity,
            source="complaint",
            source_ref=f"complaint:{complaint.id}",
            reason=reason,
            recorded_by=principal.subject,
            effective_from=occurred_at,
        )
    if record is not None:
        complaint.resulting_record_id = record.id
        await _withdraw_engagements(session, complaint)
    await session.flush()
    return record


async def _withdraw_engagements(session: AsyncSession, complaint: CreditComplaint) -> None:
    """Only engagements finished without complaint are positive: an upheld complaint of one
    side of an engagement (employer or worker) against the other withdraws the target's
    ``engagement_finished`` records of their engagements together (kept, marked withdrawn)."""
    complainant = complaint.complainant_party_id
    if complainant is None or {complaint.complainant_role, complaint.target_kind} != {
        "employer",
        "worker",
    }:
        return
    shared = select(CreditRecord.source_ref).where(
        CreditRecord.party_id == complainant, CreditRecord.kind == "engagement_finished"
    )
    query = select(CreditRecord).where(
        CreditRecord.party_id == complaint.target_id,
        CreditRecord.kind == "engagement_finished",
        CreditRecord.withdrawn_at.is_(None),
        CreditRecord.source_ref.in_(shared),
    )
    records = list((await session.scalars(query)).all())
    if not records:
        return
    now = utcnow()
    for record in records:
        record.withdrawn_at = now
    party = await session.get(CreditParty, complaint.target_id)
    assert party is not None
    await service.recompute(session, party, await service.current_policy(session), now)


async def _withdraw(session: AsyncSession, complaint: CreditComplaint) -> None:
    """An upheld dispute: the disputed record stops counting (kept, marked withdrawn)."""
    record = await session.get(CreditRecord, complaint.record_id)
    assert record is not None
    if record.withdrawn_at is None and record.superseded_by_id is None:
        record.withdrawn_at = utcnow()
    party = await session.get(CreditParty, record.party_id)
    assert party is not None
    await service.recompute(session, party, await service.current_policy(session))
