"""Change feeds for agencies, signed and audited: ``GET /api/v1/feeds/{dataset}``.

An agency pulls "everything after cursor C" (``after=0`` restarts from the beginning); each
page is JSON whose entries carry only the fields of the agency's agreements in force (PIPL
minimisation), signed by the platform's exchange key (detached JWS in ``Jiasao-Signature``,
keys at ``/.well-known/exchange-jwks.json``) and recorded in the hash-chained audit log with
the range of entries delivered, so a worker sees which agencies received their changes
(``GET /api/v1/workers/{id}/agency-reads``).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from services.kit import audit_chain, feed
from services.kit.app import ServiceContext, get_ctx
from services.kit.db import Database
from services.kit.errors import NotFound
from services.kit.ids import new_id
from services.kit.pagination import MAX_LIMIT
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal, forbidden
from services.kit.signing import SIGNATURE_HEADER, ExchangeSigner, sha256_hex
from services.kit.types import utcnow
from services.registry.agencies.datasets import FEED_DATASETS, SERVICE_FEED_DATASETS, scope_of
from services.registry.agencies.models import Agency, AgencyRead
from services.registry.agencies.service import Grant, grants_in_force
from services.registry.parties.records import get_worker

router = APIRouter(prefix="/api/v1", tags=["agencies"])
wellknown_router = APIRouter(tags=["agencies"])

FEED_PAGE_DEFAULT = 500


def signer_of(ctx: ServiceContext) -> ExchangeSigner:
    return ctx.extras["exchange_signer"]  # type: ignore[no-any-return]


class DatasetOut(BaseModel):
    dataset: str
    scope: str
    fields: list[str]


@router.get("/feeds", response_model=list[DatasetOut])
async def list_feeds(
    principal: Principal = Depends(allow(*STAFF, "agency")),
) -> list[DatasetOut]:
    """The feed datasets (the registry's and those credit and matching serve at the same
    path) and every field an agreement may name for each."""
    return [
        DatasetOut(dataset=name, scope=scope_of(name), fields=list(fields))
        for name, fields in {**FEED_DATASETS, **SERVICE_FEED_DATASETS}.items()
    ]


async def _grant(ctx: ServiceContext, principal: Principal, dataset: str) -> Grant | None:
    """None for staff (every field); the agency's grant; 403 without one in force."""
    if principal.is_privileged:
        return None
    scope = scope_of(dataset)
    if principal.role != "agency" or principal.party_id is None or not principal.has_scope(scope):
        raise forbidden(f"Missing scope: {scope} (granted by a data-sharing agreement)")
    async with ctx.db.read() as session:
        grant = (await grants_in_force(session, principal.party_id)).get(dataset)
    if grant is None:
        raise forbidden(f"No data-sharing agreement in force covers {dataset}")
    return grant


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@router.get(
    "/feeds/{dataset}",
    responses={
        200: {
            "description": f"A page of the feed, signed (header {SIGNATURE_HEADER}).",
            "content": {"application/json": {}},
        }
    },
)
async def read_feed(
    dataset: str,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "agency")),
    after: int = Query(0, ge=0, le=2**62, description="Cursor: the last seq received; 0 = start"),
    limit: int = Query(FEED_PAGE_DEFAULT, ge=1, le=MAX_LIMIT * 10),
) -> Response:
    """Entries of a feed after the cursor, in order: ``upsert`` (a new record), ``correction``
    (changed fields of a known one) and ``deletion``, each with the record projected to the
    fields of the caller's agreements. Agencies need ``feed:<dataset>`` and an agreement in
    force; officers and admins see every field. Continue with ``after=next_cursor`` while
    ``has_more``; the page is signed and the exchange recorded in the audit log."""
    if dataset not in FEED_DATASETS:
        raise NotFound("feed", dataset)
    grant = await _grant(ctx, principal, dataset)
    body, jws = await serve_page(ctx.db, signer_of(ctx), principal, grant, dataset, after, limit)
    return Response(
        body,
        media_type="application/json",
        headers={SIGNATURE_HEADER: jws, "Cache-Control": "no-store"},
    )


async def serve_page(
    db: Database,
    signer: ExchangeSigner,
    principal: Principal,
    grant: Grant | None,
    dataset: str,
    after: int,
    limit: int,
) -> tuple[bytes, str]:
    """One feed page as sent (JSON bytes) and its signature; the exchange is audited (and the
    range delivered recorded for the workers' view) before the page leaves."""
    offered = FEED_DATASETS[dataset]
    # An agreement made before a field was withdrawn (birth_date) no longer receives it.
    fields = sorted(set(grant.fields) & set(offered)) if grant is not None else list(offered)
    retention = grant.retention_days if grant is not None else None
    async with db.read() as session:
        entries, more = await feed.read_page(session, dataset, after, limit)
    next_cursor = entries[-1].seq if entries else after
    body = _dumps(
        {
            "dataset": dataset,
            "after": after,
            "next_cursor": next_cursor,
            "has_more": more,
            "fields": fields,
            "retention_days": retention,
            "entries": [e.projected(fields) for e in entries],
        }
    )
    digest = sha256_hex(body)
    party = str(principal.party_id) if principal.party_id is not None else None
    jws = signer.sign(
        digest,
        len(body),
        aud=party or principal.subject,
        dataset=dataset,
        after=after,
        next_cursor=next_cursor,
        count=len(entries),
        retention_days=retention,
    )
    purpose = "; ".join(grant.purposes) if grant is not None else "programme supervision"
    async with db.write() as session:
        entry_hash = await audit_chain.append(
            session,
            audit_chain.Exchange(
                action="feed_read",
                dataset=dataset,
                actor=principal.subject,
                actor_role=principal.role,
                party_id=party,
                purpose=purpose[:500],
                record_count=len(entries),
                content_sha256=digest,
                signature_sha256=sha256_hex(jws.encode()),
                detail={
                    "after": after,
                    "last_seq": next_cursor,
                    "agreements": list(grant.agreement_ids) if grant is not None else [],
                },
            ),
        )
        if grant is not None and entries and principal.party_id is not None:
            session.add(
                AgencyRead(
                    id=new_id(),
                    agency_id=principal.party_id,
                    dataset=dataset,
                    after_seq=after,
                    last_seq=next_cursor,
                    fields=fields,
                    purpose=purpose[:500],
                    audit_hash=entry_hash,
                    read_at=utcnow(),
                )
            )
    return body, jws


@wellknown_router.get(
    "/.well-known/exchange-jwks.json", dependencies=[Depends(public())], tags=["agencies"]
)
async def exchange_jwks(ctx: ServiceContext = Depends(get_ctx)) -> JSONResponse:
    """The platform's public exchange keys (JWKS): they verify the ``Jiasao-Signature`` of
    every feed page and export."""
    return JSONResponse(signer_of(ctx).jwks(), headers={"Cache-Control": "public, max-age=300"})


class AgencyReadOut(BaseModel):
    agency_id: uuid.UUID
    agency_name: str
    agency_kind: str
    dataset: str
    fields: list[str]
    purpose: str
    read_at: datetime
    audit_hash: str


@router.get("/workers/{worker_id}/agency-reads", response_model=list[AgencyReadOut])
async def worker_agency_reads(
    worker_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "worker")),
) -> list[AgencyReadOut]:
    """Which agencies received changes of this worker's record through a feed, when, which
    fields and for what purpose (newest first): the worker themself, officers, admins."""
    if not principal.is_privileged and not principal.acts_for(worker_id):
        raise NotFound("worker", worker_id)
    async with ctx.db.read() as session:
        await get_worker(session, worker_id)
        seqs = (
            await session.scalars(
                select(feed.feed_log.c.seq).where(
                    feed.feed_log.c.dataset == "workers",
                    feed.feed_log.c.record_id == str(worker_id),
                )
            )
        ).all()
        out: list[AgencyReadOut] = []
        seen: set[uuid.UUID] = set()
        for seq in seqs:
            rows = (
                await session.execute(
                    select(AgencyRead, Agency)
                    .join(Agency, Agency.id == AgencyRead.agency_id)
                    .where(
                        AgencyRead.dataset == "workers",
                        AgencyRead.after_seq < seq,
                        AgencyRead.last_seq >= seq,
                    )
                )
            ).all()
            for read, agency in rows:
                if read.id in seen:
                    continue
                seen.add(read.id)
                out.append(
                    AgencyReadOut(
                        agency_id=agency.id,
                        agency_name=agency.name,
                        agency_kind=agency.kind,
                        dataset=read.dataset,
                        fields=read.fields,
                        purpose=read.purpose,
                        read_at=read.read_at,
                        audit_hash=read.audit_hash,
                    )
                )
    out.sort(key=lambda r: r.read_at, reverse=True)
    return out
