"""Change feeds for agencies, signed and audited: ``GET /api/v1/feeds/{dataset}``.

An agency pulls "everything after cursor C" (``after=0`` restarts from the beginning); each
page is JSON whose entries carry only the fields of the agency's agreements in force (PIPL
minimisation), signed by the platform's exchange key (detached JWS in ``Jiasao-Signature``,
keys at ``/.well-known/exchange-jwks.json``) and recorded in the hash-chained audit log with
the range of entries delivered, so a worker sees which agencies received their changes
(``GET /api/v1/workers/{id}/agency-reads``). The signed manifest states the audit entry that
records the page (``audit``: chain, seq, hash), so the agency holds a platform-signed anchor of
the chain (``audit verify --anchor``). ``GET /api/v1/feeds`` is the catalogue of every dataset
the platform exchanges and where each is served.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit import feed, feed_api
from services.kit.app import ServiceContext, get_ctx
from services.kit.db import Database
from services.kit.errors import NotFound
from services.kit.ids import new_id
from services.kit.pagination import MAX_LIMIT
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal, forbidden
from services.kit.signing import SIGNATURE_HEADER, ExchangeSigner
from services.kit.types import utcnow
from services.registry.agencies.datasets import FEED_DATASETS, catalogue, scope_of
from services.registry.agencies.models import Agency, AgencyRead
from services.registry.agencies.service import Grant, grants_in_force
from services.registry.parties.records import get_worker

router = APIRouter(prefix="/api/v1", tags=["agencies"])
wellknown_router = APIRouter(tags=["agencies"])

FEED_PAGE_DEFAULT = 500


def signer_of(ctx: ServiceContext) -> ExchangeSigner:
    return ctx.extras["exchange_signer"]  # type: ignore[no-any-return]


class DatasetRouteOut(BaseModel):
    method: str
    path: str
    #: ``feed`` (change feed), ``pull`` (signed snapshot pages) or ``import`` (agencies send).
    kind: str


class DatasetOut(BaseModel):
    dataset: str
    #: The scope a token needs (granted while an agreement naming the dataset is in force).
    scope: str
    fields: list[str]
    #: The service that serves it, whose audit chain records its exchanges.
    service: str
    routes: list[DatasetRouteOut]


@router.get("/feeds", response_model=list[DatasetOut])
async def list_feeds(
    principal: Principal = Depends(allow(*STAFF, "agency")),
) -> list[DatasetOut]:
    """Every dataset the platform exchanges with agencies — the registry's feeds, the feeds
    credit and matching serve at the same path (through the gateway), matching's snapshot pulls
    (``/api/v1/exchange/...``) and the imports agencies send — with the fields an agreement
    may name, the scope, the service serving it (and keeping its audit chain) and its routes."""
    return [
        DatasetOut(
            dataset=name,
            scope=scope_of(name),
            fields=list(fields),
            service=service,
            routes=[DatasetRouteOut(method=m, path=p, kind=k) for m, p, k in routes],
        )
        for name, service, fields, routes in catalogue()
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
    """One feed page as sent (JSON bytes) and its signature, served and audited by
    :func:`services.kit.feed_api.serve_page`; the range delivered is recorded for the workers'
    view before the page leaves."""

    async def record_agency_read(
        session: AsyncSession,
        principal: Principal,
        dataset: str,
        fields: list[str],
        entries: list[feed.Entry],
        entry_hash: str,
    ) -> None:
        if principal.party_id is None or grant is None:
            return
        session.add(
            AgencyRead(
                id=new_id(),
                agency_id=principal.party_id,
                dataset=dataset,
                after_seq=after,
                last_seq=entries[-1].seq,
                fields=fields,
                purpose="; ".join(grant.purposes)[:500],
                audit_hash=entry_hash,
                read_at=utcnow(),
            )
        )

    return await feed_api.serve_page(
        db,
        signer,
        principal,
        grant,  # type: ignore[arg-type]  # registry's Grant has the fields the kit reads
        dataset,
        FEED_DATASETS[dataset],
        after,
        limit,
        on_served=record_agency_read,
    )


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
