"""Routes of complaints (and disputes) and credit repairs."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Query
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.files import complaints, repairs
from services.credit.files.models import CreditComplaint, CreditRepair
from services.credit.files.schemas import (
    AssignIn,
    ComplaintDecisionIn,
    ComplaintIn,
    ComplaintOut,
    ComplaintStepOut,
    EvidenceIn,
    RepairDecisionIn,
    RepairIn,
    RepairOut,
)
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import InvalidField, NotFound
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal
from services.kit.types import utcnow

router = APIRouter(prefix="/api/v1", tags=["credit complaints and repairs"])

PARTIES = ("worker", "company", "institution", "employer")
officers = allow(*STAFF)
parties_and_staff = allow(*STAFF, *PARTIES)


async def complaint_out(session: AsyncSession, complaint: CreditComplaint) -> ComplaintOut:
    history = await complaints.steps(session, complaint.id)
    open_ = complaint.status in complaints.OPEN
    return ComplaintOut(
        id=complaint.id,
        complainant_role=complaint.complainant_role,
        target_kind=complaint.target_kind,  # type: ignore[arg-type]
        target_id=complaint.target_id,
        record_id=complaint.record_id,
        category=complaint.category,  # type: ignore[arg-type]
        description=complaint.description,
        status=complaint.status,  # type: ignore[arg-type]
        assignee=complaint.assignee,
        due_at=complaint.due_at,
        overdue=open_ and utcnow() > complaint.due_at,
        decided_at=complaint.decided_at,
        decision_reason=complaint.decision_reason,
        resulting_record_id=complaint.resulting_record_id,
        policy_version=complaint.policy_version,
        created_at=complaint.created_at,
        history=[ComplaintStepOut.model_validate(s, from_attributes=True) for s in history],
    )


async def _visible(
    session: AsyncSession, principal: Principal, complaint_id: uuid.UUID
) -> CreditComplaint:
    complaint = await complaints.get(session, complaint_id)
    if not complaints.may_see(principal, complaint):
        raise NotFound("complaint", complaint_id)
    return complaint


@router.post("/credit-complaints", response_model=ComplaintOut, status_code=201)
async def file_complaint(
    body: ComplaintIn,
    principal: Principal = Depends(allow(*PARTIES)),
    ctx: ServiceContext = Depends(get_ctx),
) -> ComplaintOut:
    """File a complaint against a worker, company, institution or employer — or, with
    ``record_id``, dispute a record of your own file. The decision is due within the policy's
    ``complaint_decision_days``."""
    async with ctx.db.write() as session:
        complaint = await complaints.file_complaint(
            session,
            principal,
            target_kind=body.target_kind,
            target_id=body.target_id,
            category=body.category,
            description=body.description,
            record_id=body.record_id,
        )
        return await complaint_out(session, complaint)


@router.get("/credit-complaints", response_model=Page[ComplaintOut])
async def list_complaints(
    principal: Principal = Depends(parties_and_staff),
    ctx: ServiceContext = Depends(get_ctx),
    status: str | None = Query(None, pattern="^(filed|assigned|investigating|upheld|rejected)$"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[ComplaintOut]:
    """Complaints, oldest first: all for staff; for others those they filed or that are about
    them."""
    query = select(CreditComplaint)
    if not principal.is_privileged:
        mine = CreditComplaint.complainant_subject == principal.subject
        if principal.party_id is not None:
            about_me = (CreditComplaint.target_id == principal.party_id) & (
                CreditComplaint.target_kind == principal.role
            )
            mine = or_(mine, about_me)
        query = query.where(mine)
    if status is not None:
        query = query.where(CreditComplaint.status == status)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, CreditComplaint.id, cursor, limit)
        items = [await complaint_out(session, c) for c in rows]
    return Page[ComplaintOut](items=items, next_cursor=next_cursor)


@router.get("/credit-complaints/{complaint_id}", response_model=ComplaintOut)
async def get_complaint(
    complaint_id: uuid.UUID,
    principal: Principal = Depends(parties_and_staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> ComplaintOut:
    """A complaint with its whole history: for staff, the complainant and the party it is
    about."""
    async with ctx.db.read() as session:
        return await complaint_out(session, await _visible(session, principal, complaint_id))


@router.post("/credit-complaints/{complaint_id}/assign", response_model=ComplaintOut)
async def assign_complaint(
    complaint_id: uuid.UUID,
    body: AssignIn,
    principal: Principal = Depends(officers),
    ctx: ServiceContext = Depends(get_ctx),
) -> ComplaintOut:
    """Assign (or reassign) an open complaint to an officer for investigation."""
    async with ctx.db.write() as session:
        complaint = await complaints.get(session, complaint_id)
        await complaints.assign(session, principal, complaint, body.assignee)
        return await complaint_out(session, complaint)


@router.post("/credit-complaints/{complaint_id}/evidence", response_model=ComplaintOut)
async def add_complaint_evidence(
    complaint_id: uuid.UUID,
    body: EvidenceIn,
    principal: Principal = Depends(parties_and_staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> ComplaintOut:
    """Add evidence (a note, optionally an attachment's name, type, SHA-256 and location) to an
    open complaint: staff, the complainant and the party it is about."""
    async with ctx.db.write() as session:
        complaint = await _visible(session, principal, complaint_id)
        attachment = body.attachment.model_dump() if body.attachment else None
        await complaints.add_evidence(session, principal, complaint, body.note, attachment)
        return await complaint_out(session, complaint)


@router.post("/credit-complaints/{complaint_id}/decision", response_model=ComplaintOut)
async def decide_complaint(
    complaint_id: uuid.UUID,
    body: ComplaintDecisionIn,
    principal: Principal = Depends(officers),
    ctx: ServiceContext = Depends(get_ctx),
) -> ComplaintOut:
    """Uphold or reject an assigned complaint. Upheld: a negative record on the party (its
    level is recomputed); an upheld dispute withdraws the disputed record."""
    if body.occurred_at is not None and body.occurred_at > utcnow() + timedelta(minutes=5):
        raise InvalidField("occurred_at", "must not be in the future")
    async with ctx.db.write() as session:
        complaint = await complaints.get(session, complaint_id)
        await complaints.decide(
            session,
            principal,
            complaint,
            upheld=body.outcome == "upheld",
            reason=body.reason,
            record_kind=body.record_kind,
            severity=body.severity,
            occurred_at=body.occurred_at,
        )
        return await complaint_out(session, complaint)


# --- Repairs -----------------------------------------------------------------------------------


@router.post("/credit-repairs", response_model=RepairOut, status_code=201)
async def apply_for_repair(
    body: RepairIn,
    principal: Principal = Depends(allow(*PARTIES)),
    ctx: ServiceContext = Depends(get_ctx),
) -> RepairOut:
    """Apply to repair a negative record of your own file, with proof of correction; 409
    ``repair-too-early`` before the policy's minimum period has passed."""
    async with ctx.db.write() as session:
        repair = await repairs.apply(session, principal, body.record_id, body.proof)
        return RepairOut.model_validate(repair, from_attributes=True)


@router.get("/credit-repairs", response_model=Page[RepairOut])
async def list_repairs(
    principal: Principal = Depends(parties_and_staff),
    ctx: ServiceContext = Depends(get_ctx),
    status: str | None = Query(None, pattern="^(pending|approved|rejected)$"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[RepairOut]:
    """Repair applications, oldest first: all for staff, a party's own for the party."""
    query = select(CreditRepair)
    if not principal.is_privileged:
        query = query.where(
            CreditRepair.party_id == principal.party_id,
            CreditRepair.party_kind == principal.role,
        )
    if status is not None:
        query = query.where(CreditRepair.status == status)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, CreditRepair.id, cursor, limit)
    return Page[RepairOut](
        items=[RepairOut.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/credit-repairs/{repair_id}", response_model=RepairOut)
async def get_repair(
    repair_id: uuid.UUID,
    principal: Principal = Depends(parties_and_staff),
    ctx: ServiceContext = Depends(get_ctx),
) -> RepairOut:
    """One repair application: for staff and the party."""
    async with ctx.db.read() as session:
        repair = await repairs.get(session, repair_id)
    if not repairs.may_see(principal, repair):
        raise NotFound("repair", repair_id)
    return RepairOut.model_validate(repair, from_attributes=True)


@router.post("/credit-repairs/{repair_id}/decision", response_model=RepairOut)
async def decide_repair(
    repair_id: uuid.UUID,
    body: RepairDecisionIn,
    principal: Principal = Depends(officers),
    ctx: ServiceContext = Depends(get_ctx),
) -> RepairOut:
    """Approve (ends the record's publication now and recomputes the level) or reject, with
    reasons."""
    async with ctx.db.write() as session:
        repair = await repairs.get(session, repair_id)
        await repairs.decide(session, principal, repair, body.approve, body.reason)
        return RepairOut.model_validate(repair, from_attributes=True)
