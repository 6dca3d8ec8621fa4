"""Serving a service's change feeds to agencies: ``GET /api/v1/feeds/<dataset>``.

The registry serves its own datasets (workers, companies, institutions) from its agreements
table; other services (credit: certificates, cards, credit levels and lists; matching: hires)
serve theirs with :func:`feed_router`, deciding from their read model of the registry's
agreements (:mod:`services.kit.agreements`) at every read what the agency may receive:

- an agency needs the scope ``feed:<dataset>`` *and* an agreement in force naming the dataset
  (403 otherwise: a token's scopes outlive a revocation, the read model does not);
- each entry carries only the fields the agency's agreements name (PIPL minimisation);
- the page is signed with the platform's exchange key (detached JWS in ``Jiasao-Signature``,
  keys at ``/.well-known/exchange-jwks.json``), its manifest naming the recipient, the cursor
  range, the retention the agreement sets and the audit entry recording this page (``audit``:
  chain, seq, hash — the anchor ``audit verify --anchor`` checks);
- the exchange is appended to the service's own hash-chained audit log
  (:mod:`services.kit.audit_chain`: every service that exchanges keeps its chain in its own
  database, as it keeps its own data; ``audit verify`` walks one chain), in the transaction
  that signs the page.

Officers and admins read every field (programme supervision), audited the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit import agreements, audit_chain, feed
from services.kit.agreements import Grant
from services.kit.app import ServiceContext, get_ctx
from services.kit.db import Database
from services.kit.pagination import MAX_LIMIT
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal, forbidden
from services.kit.signing import SIGNATURE_HEADER, ExchangeSigner, sha256_hex

FEED_PAGE_DEFAULT = 500

#: Called in the audit entry's transaction after an agency's page (not staff's): the service
#: records, where the people concerned can see it, that the agency received their data.
#: Arguments: the session, the agency, the dataset, the fields sent, the entries, the audit
#: entry's hash.
OnServed = Callable[
    [AsyncSession, Principal, str, list[str], list[feed.Entry], str], Awaitable[None]
]

SIGNED_PAGE = {
    200: {
        "description": f"A page of the feed, signed (header {SIGNATURE_HEADER}); continue "
        "with after=next_cursor while has_more.",
        "content": {"application/json": {}},
    }
}


def scope_of(dataset: str) -> str:
    return f"feed:{dataset}"


async def grant_for(ctx: ServiceContext, principal: Principal, dataset: str) -> Grant | None:
    """None for staff (every field); the agency's grant in force; 403 without one."""
    if principal.is_privileged:
        return None
    scope = scope_of(dataset)
    if principal.role != "agency" or principal.party_id is None or not principal.has_scope(scope):
        raise forbidden(f"Missing scope: {scope} (granted by a data-sharing agreement)")
    async with ctx.db.read() as session:
        grant = await agreements.grant_in_force(session, principal.party_id, dataset)
    if grant is None:
        raise forbidden(f"No data-sharing agreement in force covers {dataset}")
    return grant


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


async def serve_page(
    db: Database,
    signer: ExchangeSigner,
    principal: Principal,
    grant: Grant | None,
    dataset: str,
    all_fields: tuple[str, ...],
    after: int,
    limit: int,
    on_served: OnServed | None = None,
) -> tuple[bytes, str]:
    """One feed page as sent (JSON bytes) and its signature; audited before it leaves."""
    # Only fields still offered: an agreement made before a field was withdrawn (the workers'
    # birth_date) no longer receives it.
    fields = sorted(set(grant.fields) & set(all_fields)) if grant is not None else list(all_fields)
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
    purpose = "; ".join(grant.purposes) if grant is not None else "programme supervision"
    async with db.write() as session:
        jws, anchor = await audit_chain.append_signed(
            session,
            signer,
            audit_chain.Exchange(
                action="feed_read",
                dataset=dataset,
                actor=principal.subject,
                actor_role=principal.role,
                party_id=party,
                purpose=purpose[:500],
                record_count=len(entries),
                content_sha256=digest,
                signature_sha256=None,
                detail={
                    "after": after,
                    "last_seq": next_cursor,
                    "agreements": list(grant.agreement_ids) if grant is not None else [],
                },
            ),
            sent_sha256=digest,
            size=len(body),
            aud=party or principal.subject,
            dataset=dataset,
            after=after,
            next_cursor=next_cursor,
            count=len(entries),
            retention_days=retention,
        )
        entry_hash = anchor.entry_hash
        if on_served is not None and grant is not None and entries:
            await on_served(session, principal, dataset, fields, entries, entry_hash)
    return body, jws


def _reader(
    dataset: str, fields: tuple[str, ...], on_served: OnServed | None
) -> Callable[..., Awaitable[Response]]:
    async def read_feed(
        ctx: ServiceContext = Depends(get_ctx),
        principal: Principal = Depends(allow(*STAFF, "agency")),
        after: int = Query(
            0, ge=0, le=2**62, description="Cursor: the last seq received; 0 = start"
        ),
        limit: int = Query(FEED_PAGE_DEFAULT, ge=1, le=MAX_LIMIT * 10),
    ) -> Response:
        grant = await grant_for(ctx, principal, dataset)
        signer: ExchangeSigner = ctx.extras["exchange_signer"]
        body, jws = await serve_page(
            ctx.db, signer, principal, grant, dataset, fields, after, limit, on_served
        )
        return Response(
            body,
            media_type="application/json",
            headers={SIGNATURE_HEADER: jws, "Cache-Control": "no-store"},
        )

    read_feed.__doc__ = (
        f"Entries of the {dataset} feed after the cursor, in order: ``upsert`` (a new record), "
        "``correction`` (changed fields of a known one) and ``deletion``, each projected to the "
        f"fields of the caller's agreements ({', '.join(fields)}). Agencies need "
        f"``{scope_of(dataset)}`` and a data-sharing agreement in force naming {dataset}; "
        "officers and admins see every field. ``after=0`` restarts from the beginning. The "
        "page is signed and the exchange recorded in the audit log."
    )
    return read_feed


def feed_router(
    datasets: Mapping[str, tuple[str, ...]],
    *,
    tag: str = "feeds",
    on_served: OnServed | None = None,
) -> APIRouter:
    """One ``GET /api/v1/feeds/<dataset>`` per dataset (name → the fields an agreement may
    name). The service registers the events feeding each (:func:`services.kit.feed.register`)
    and puts its :class:`ExchangeSigner` in ``ctx.extras["exchange_signer"]``; ``on_served``
    records who received whose data (see :data:`OnServed`)."""
    router = APIRouter(prefix="/api/v1/feeds", tags=[tag])
    for name, fields in datasets.items():
        router.add_api_route(
            f"/{name}",
            _reader(name, fields, on_served),
            methods=["GET"],
            responses=SIGNED_PAGE,  # type: ignore[arg-type]
            name=f"read_feed_{name.replace('-', '_')}",
            summary=f"Read the {name} change feed",
        )
    return router
