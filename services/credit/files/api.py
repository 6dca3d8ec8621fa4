"""Routes of the credit files: policy versions, files and their records, a worker's credit
summary (with consent, logged), red and black lists.

Who may read a file: staff; the party itself; a worker's current company. Anyone else gets
404 as if the file did not exist. A worker's credit summary follows the certificates' rule
(services.credit.access) and answers 403 to a caller without a right to it — the same whether
the worker exists or not — so a partner learns only that it lacks consent.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import PartyKind
from services.credit import access
from services.credit.files import lists, service
from services.credit.files.models import CreditListEntry, CreditParty, CreditPolicy, CreditRecord
from services.credit.files.policy import CreditRules, arithmetic
from services.credit.files.schemas import (
    CreditSummary,
    ExplanationLine,
    ListingEnd,
    ListingIn,
    ListingOut,
    PolicyCreated,
    PolicyIn,
    PolicyOut,
    PublicListing,
    RecordIn,
    RecordOut,
)
from services.credit.files.sweeper import sweeping
from services.credit.service import mask_name
from services.credit.workers import current_company
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import Conflict, InvalidField, NotFound
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, authenticated, public
from services.kit.principal import Principal, forbidden
from services.kit.types import utcnow


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with sweeping(app.state.ctx):
        yield


router = APIRouter(prefix="/api/v1", tags=["credit files"], lifespan=_lifespan)

PARTY_ROLES = ("worker", "company", "institution", "employer")
read_files = allow(*STAFF, *PARTY_ROLES)
read_worker_credit = allow(
    *STAFF, "worker", "company", "employer", scopes=[access.CREDIT_READ_SCOPE]
)
officers = allow(*STAFF)


# --- Policy ------------------------------------------------------------------------------------


def _policy_out(row: CreditPolicy) -> PolicyOut:
    return PolicyOut(
        version=row.version,
        rules=CreditRules.model_validate(row.rules),
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.get("/credit-policies", response_model=list[PolicyOut])
async def list_credit_policies(
    principal: Principal = Depends(authenticated()), ctx: ServiceContext = Depends(get_ctx)
) -> list[PolicyOut]:
    """Every version of the credit policy (weights, levels, periods), newest first."""
    async with ctx.db.read() as session:
        rows = await session.scalars(select(CreditPolicy).order_by(CreditPolicy.version.desc()))
        return [_policy_out(row) for row in rows]


@router.get("/credit-policies/{version}", response_model=PolicyOut)
async def get_credit_policy(
    version: int = Path(ge=1, le=1_000_000),
    principal: Principal = Depends(authenticated()),
    ctx: ServiceContext = Depends(get_ctx),
) -> PolicyOut:
    """One version of the credit policy; scores name the version that computed them."""
    async with ctx.db.read() as session:
        row = await session.get(CreditPolicy, version)
        if row is None:
            raise NotFound("credit policy", version)
        return _policy_out(row)


@router.post("/credit-policies", response_model=PolicyCreated, status_code=201)
async def create_credit_policy(
    body: PolicyIn, principal: Principal = Depends(officers), ctx: ServiceContext = Depends(get_ctx)
) -> PolicyCreated:
    """A new policy version; every credit file is recomputed under it before the answer."""
    async with ctx.db.write() as session:
        row = await service.add_policy(
            session, body.rules, reason=body.reason, created_by=principal.subject
        )
        out = _policy_out(row)
    done, changed = await service.recompute_all(
        ctx.db.write, service.Policy(out.version, out.rules)
    )
    return PolicyCreated(**out.model_dump(), recomputed=done, levels_changed=changed)


# --- Files -------------------------------------------------------------------------------------


async def _file_reader(
    session: AsyncSession, principal: Principal, kind: str, party_id: uuid.UUID
) -> access.Reader | None:
    if principal.is_privileged:
        return access.Reader(principal, "staff")
    if principal.role == kind and principal.acts_for(party_id):
        return access.Reader(principal, "owner")
    if kind == "worker" and principal.role == "company" and principal.party_id is not None:
        if await current_company(session, party_id) == principal.party_id:
            return access.Reader(principal, "company")
    return None


async def summary_of(session: AsyncSession, party: CreditParty) -> CreditSummary:
    policy = await session.get(CreditPolicy, party.policy_version)
    base = policy.rules["base_score"] if policy is not None else 0
    lines = party.explanation
    if policy is not None:
        rules = CreditRules.model_validate(policy.rules)
        lines = [arithmetic(rules, line) for line in lines]
    entries = await lists.active_entries(session, party.party_id)
    return CreditSummary(
        party_id=party.party_id,
        party_kind=party.party_kind,  # type: ignore[arg-type]
        name=party.name,
        score=party.score,
        level=party.level,  # type: ignore[arg-type]
        base_score=base,
        explanation=[ExplanationLine.model_validate(line) for line in lines],
        policy_version=party.policy_version,
        computed_at=party.computed_at,
        lists=[ListingOut.model_validate(e, from_attributes=True) for e in entries],
        guarantee_mark=any(e.list_kind == "red" for e in entries),
    )


async def _readable_file(
    ctx: ServiceContext, principal: Principal, kind: str, party_id: uuid.UUID, resource: str
) -> tuple[CreditParty, access.Reader]:
    async with ctx.db.read() as session:
        reader = await _file_reader(session, principal, kind, party_id)
        party = await session.get(CreditParty, party_id)
    if reader is None or party is None or party.party_kind != kind:
        raise NotFound("credit file", party_id)
    if reader.is_logged:
        async with ctx.db.write() as session:
            await access.log_read(session, reader, party_id, resource=resource, items=1)  # type: ignore[arg-type]
    return party, reader


@router.get("/credit-files", response_model=Page[CreditSummary])
async def list_credit_files(
    principal: Principal = Depends(officers),
    ctx: ServiceContext = Depends(get_ctx),
    party_kind: PartyKind | None = Query(None),
    level: str | None = Query(None, pattern="^[ABCD]$"),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CreditSummary]:
    """Credit files by kind and level, for programme staff."""
    query = select(CreditParty)
    if party_kind is not None:
        query = query.where(CreditParty.party_kind == party_kind)
    if level is not None:
        query = query.where(CreditParty.level == level)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session, query, CreditParty.party_id, cursor, limit, key_of=lambda p: p.party_id
        )
        items = [await summary_of(session, party) for party in rows]
    return Page[CreditSummary](items=items, next_cursor=next_cursor)


@router.get("/credit-files/{party_kind}/{party_id}", response_model=CreditSummary)
async def get_credit_file(
    party_kind: PartyKind,
    party_id: uuid.UUID,
    principal: Principal = Depends(read_files),
    ctx: ServiceContext = Depends(get_ctx),
) -> CreditSummary:
    """A party's score, level, explanation and list entries: for staff, the party itself and
    (for a worker) their current company, whose read the worker sees in their access log."""
    party, _ = await _readable_file(ctx, principal, party_kind, party_id, "credit_file")
    async with ctx.db.read() as session:
        return await summary_of(session, party)


@router.get("/credit-files/{party_kind}/{party_id}/records", response_model=Page[RecordOut])
async def list_credit_records(
    party_kind: PartyKind,
    party_id: uuid.UUID,
    principal: Principal = Depends(read_files),
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[RecordOut]:
    """Every record of the file, oldest first, including superseded, withdrawn and repaired
    ones (records are never deleted)."""
    await _readable_file(ctx, principal, party_kind, party_id, "credit_records")
    query = select(CreditRecord).where(CreditRecord.party_id == party_id)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, CreditRecord.id, cursor, limit)
    return Page[RecordOut](
        items=[RecordOut.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/credit-files/{party_kind}/{party_id}/records", response_model=RecordOut, status_code=201
)
async def add_credit_record(
    party_kind: PartyKind,
    party_id: uuid.UUID,
    body: RecordIn,
    principal: Principal = Depends(officers),
    ctx: ServiceContext = Depends(get_ctx),
) -> RecordOut:
    """An officer's record (honour, title, sanction, fraud …) with its reason; with
    ``supersedes_id`` a correction of an earlier record, which stays in the file marked."""
    now = utcnow()
    if body.effective_from is not None and body.effective_from > now + timedelta(minutes=5):
        raise InvalidField("effective_from", "must not be in the future")
    start = body.effective_from or now
    if body.effective_until is not None and body.effective_until <= start:
        raise InvalidField("effective_until", "must be after effective_from")
    async with ctx.db.write() as session:
        await service.get_file(session, party_kind, party_id)
        supersedes = None
        if body.supersedes_id is not None:
            supersedes = await session.get(CreditRecord, body.supersedes_id)
            if supersedes is None or supersedes.party_id != party_id:
                raise InvalidField("supersedes_id", "no record with this id in this file")
            if supersedes.superseded_by_id is not None:
                raise Conflict("That record is already superseded", "record-superseded")
        record = await service.add_record(
            session,
            party_id=party_id,
            party_kind=party_kind,
            kind=body.kind,
            severity=body.severity,
            source="officer",
            source_ref=f"officer:{principal.subject}",
            reason=body.reason,
            recorded_by=principal.subject,
            effective_from=start,
            effective_until=body.effective_until,
            supersedes=supersedes,
        )
        assert record is not None
        return RecordOut.model_validate(record, from_attributes=True)


@router.get("/workers/{worker_id}/credit", response_model=CreditSummary)
async def worker_credit(
    worker_id: uuid.UUID,
    principal: Principal = Depends(read_worker_credit),
    ctx: ServiceContext = Depends(get_ctx),
) -> CreditSummary:
    """A worker's credit summary: staff, the worker, their company, and employers or partners
    (scope credit:read) only while the worker's credit_data consent for them is valid — 403
    otherwise. Every read by a company, employer or partner goes to the worker's access log."""
    async with ctx.db.read() as session:
        reader = await access.reader_of(session, principal, worker_id)
        party = await session.get(CreditParty, worker_id)
    if reader is None:
        raise forbidden("No valid consent of this worker covers your reading their credit data")
    if party is None or party.party_kind != "worker":
        raise NotFound("worker", worker_id)
    if reader.is_logged:
        async with ctx.db.write() as session:
            await access.log_read(session, reader, worker_id, resource="credit", items=1)
    async with ctx.db.read() as session:
        return await summary_of(session, party)


# --- Lists -------------------------------------------------------------------------------------


@router.post(
    "/credit-files/{party_kind}/{party_id}/list-entries",
    response_model=ListingOut,
    status_code=201,
)
async def add_list_entry(
    party_kind: PartyKind,
    party_id: uuid.UUID,
    body: ListingIn,
    principal: Principal = Depends(officers),
    ctx: ServiceContext = Depends(get_ctx),
) -> ListingOut:
    """An officer's decision to red- or black-list a party, with its legal basis; published for
    the policy's period."""
    async with ctx.db.write() as session:
        party = await service.get_file(session, party_kind, party_id)
        if body.record_id is not None:
            record = await session.get(CreditRecord, body.record_id)
            if record is None or record.party_id != party_id:
                raise InvalidField("record_id", "no record with this id in this file")
        if await lists.active_entries(session, party_id, list_kind=body.list_kind):
            raise Conflict(f"The party is already on the {body.list_kind} list", "already-listed")
        if body.list_kind == "red" and await lists.is_blacklisted(session, party_id):
            raise Conflict("A blacklisted party cannot be red-listed", "blacklisted")
        policy = await service.current_policy(session)
        entry = await lists.add_entry(
            session,
            party,
            body.list_kind,
            basis="officer",
            reason=body.reason,
            legal_basis=body.legal_basis,
            record_id=body.record_id,
            policy_version=policy.version,
            rules=policy.rules,
            created_by=principal.subject,
        )
        return ListingOut.model_validate(entry, from_attributes=True)


@router.post(
    "/credit-files/{party_kind}/{party_id}/list-entries/{entry_id}/end", response_model=ListingOut
)
async def end_list_entry(
    party_kind: PartyKind,
    party_id: uuid.UUID,
    entry_id: uuid.UUID,
    body: ListingEnd,
    principal: Principal = Depends(officers),
    ctx: ServiceContext = Depends(get_ctx),
) -> ListingOut:
    """An officer ends a list entry before its period is over."""
    async with ctx.db.write() as session:
        entry = await session.get(CreditListEntry, entry_id)
        if entry is None or entry.party_id != party_id or entry.party_kind != party_kind:
            raise NotFound("list entry", entry_id)
        if entry.ended_at is not None:
            raise Conflict("The entry has already ended", "entry-ended")
        await lists.end_entry(session, entry, "officer")
        return ListingOut.model_validate(entry, from_attributes=True)


async def _public_list(
    ctx: ServiceContext, list_kind: str, cursor: str | None, limit: int
) -> Page[PublicListing]:
    now = utcnow()
    query = (
        select(CreditListEntry, CreditParty)
        .join(CreditParty, CreditParty.party_id == CreditListEntry.party_id)
        .where(
            CreditListEntry.list_kind == list_kind,
            CreditListEntry.ended_at.is_(None),
            CreditListEntry.starts_at <= now,
            CreditListEntry.publish_until > now,
        )
    )
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session,
            query,
            CreditListEntry.id,
            cursor,
            limit,
            whole_rows=True,
            key_of=lambda row: row[0].id,
        )
    items = []
    for entry, party in rows:
        person = party.party_kind in ("worker", "employer")
        name = mask_name(party.name) if person and party.name else party.name
        items.append(
            PublicListing(
                public_code=entry.public_code,
                party_kind=entry.party_kind,  # type: ignore[arg-type]
                name=name,
                basis=entry.basis,  # type: ignore[arg-type]
                legal_basis=entry.legal_basis,
                starts_at=entry.starts_at,
                publish_until=entry.publish_until,
            )
        )
    return Page[PublicListing](items=items, next_cursor=next_cursor)


@router.get("/redlist", response_model=Page[PublicListing], dependencies=[Depends(public())])
async def redlist(
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[PublicListing]:
    """The public 诚信红名单: entries in their publication period only."""
    return await _public_list(ctx, "red", cursor, limit)


@router.get("/blacklist", response_model=Page[PublicListing], dependencies=[Depends(public())])
async def blacklist(
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[PublicListing]:
    """The public 失信黑名单: entries in their publication period only; people's names masked."""
    return await _public_list(ctx, "black", cursor, limit)
