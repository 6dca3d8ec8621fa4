"""The public employment service platforms: they pull open jobs and available workers, and
send us their jobs (``/api/v1/exchange/...``).

Agencies (role ``agency``, see the registry's ``agencies`` package) reach these routes only
with the scope of the dataset, which the registry grants a token only while a data-sharing
agreement naming the dataset is in force: ``feed:jobs`` and ``feed:available-workers`` to pull,
``import:jobs`` to send jobs. At every call matching checks its own read model of the
agreements (:mod:`services.kit.agreements`, from ``registry.agreement.changed``): without one in
force naming the dataset, 403 whatever the token says (a revoked or expired agreement stops the
exchange at once); a pulled page carries only the fields the agreements name. The dataset
names and their fields are the registry's catalogue (``services.registry.agencies.datasets``:
``PULL_DATASETS``, ``IMPORT_DATASETS["jobs-import"]``); a test keeps this module's field lists
equal to it.

- ``GET /api/v1/exchange/jobs``: open jobs (not the caller's own imports), oldest first, in
  pages (``after`` = the last id received).
- ``GET /api/v1/exchange/available-workers``: workers with a valid certificate, in no
  engagement, not excluded by the match policy (suspended, left, red card, black list), who
  consented (scope ``employment_platforms``) to be shared with the pulling agency.
- ``POST /api/v1/exchange/jobs``: a batch of the platform's jobs, each with its own
  ``external_id``, signed by one of the agency's registered keys (detached JWS in
  ``Jiasao-Signature``, checked against matching's read model of the keys,
  :mod:`services.kit.agency_keys`, from ``registry.agency_key.changed``; unsigned: 401);
  stored as jobs whose source is the agency, deduplicated by (agency, external id): a
  re-import updates the job or leaves it unchanged; a per-row report.
- ``GET /api/v1/candidates/{worker_id}/agency-reads``: the worker's own view of which
  platforms received their record.

Every page and every import report is signed with the platform's exchange key (detached JWS in
``Jiasao-Signature``; keys at ``/.well-known/exchange-jwks.json``) and the exchange is appended
to matching's hash-chained audit log (:mod:`services.kit.audit_chain`).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit import agency_keys, agreements, audit_chain
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.ids import new_id
from services.kit.pagination import keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal, forbidden
from services.kit.signing import SIGNATURE_HEADER, ExchangeSigner, sha256_hex
from services.kit.types import utcnow
from services.matching.models import (
    Candidate,
    CandidateCertificate,
    CandidateConsent,
    DeclaredTrack,
)
from services.matching.policy import current_policy
from services.matching.recruitment import jobs
from services.matching.recruitment.history import conflict_on_race
from services.matching.recruitment.models import AgencyWorkerRead, Job
from services.matching.recruitment.schemas import BulkReport

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])
#: The worker's own view of what was sent about them.
reads_router = APIRouter(prefix="/api/v1", tags=["exchange"])

#: The consent a worker gives (recipient: the agency's id) to be pulled by a platform.
CONSENT_SCOPE = "employment_platforms"
#: The fields each pulled dataset carries (the registry's catalogue names the same).
JOB_FIELDS: tuple[str, ...] = (
    "title",
    "track",
    "duties",
    "city",
    "district",
    "live_in",
    "schedule",
    "pay_min",
    "pay_max",
    "pay_period",
    "languages",
    "certificate_required",
    "min_stars",
    "positions",
    "start_date",
    "expires_at",
)
WORKER_FIELDS: tuple[str, ...] = (
    "name",
    "county",
    "tracks",
    "languages",
    "stars",
    "certificates",
)
PAGE_DEFAULT = 200
PAGE_MAX = 1000
IMPORT_MAX_ROWS = 500


def _signer(ctx: ServiceContext) -> ExchangeSigner:
    return ctx.extras["exchange_signer"]  # type: ignore[no-any-return]


def _agency(principal: Principal) -> uuid.UUID:
    """The calling agency (scopes are granted to agencies only; nobody else passes)."""
    if principal.role != "agency" or principal.party_id is None:
        raise forbidden("Only agencies exchange data with the employment platforms' datasets")
    return principal.party_id


async def _grant(
    ctx: ServiceContext, principal: Principal, dataset: str
) -> tuple[uuid.UUID, agreements.Grant]:
    """The calling agency and its grant of ``dataset`` in force now; 403 without one."""
    agency = _agency(principal)
    async with ctx.db.read() as session:
        grant = await agreements.grant_in_force(session, agency, dataset)
    if grant is None:
        raise forbidden(f"No data-sharing agreement in force covers {dataset}")
    return agency, grant


def _dumps(value: Any) -> bytes:
    return json.dumps(jsonable_encoder(value), ensure_ascii=False, separators=(",", ":")).encode()


async def _audited_signature(
    session: AsyncSession,
    signer: ExchangeSigner,
    principal: Principal,
    agency: uuid.UUID,
    *,
    action: str,
    dataset: str,
    body: bytes,
    count: int,
    detail: dict[str, Any],
    received_sha256: str | None = None,
) -> tuple[str, str]:
    """Sign what is sent and append the exchange to the audit chain (in the caller's write
    transaction): the JWS to send beside ``body``, and the audit entry's hash."""
    digest = sha256_hex(body)
    jws, anchor = await audit_chain.append_signed(
        session,
        signer,
        audit_chain.Exchange(
            action=action,
            dataset=dataset,
            actor=principal.subject,
            actor_role=principal.role,
            party_id=str(agency),
            purpose="public employment service",
            record_count=count,
            content_sha256=received_sha256 or digest,
            signature_sha256=None,
            detail={**detail, "response_sha256": digest},
        ),
        sent_sha256=digest,
        size=len(body),
        aud=str(agency),
        dataset=dataset,
        count=count,
    )
    return jws, anchor.entry_hash


def _response(body: bytes, jws: str) -> Response:
    return Response(
        body,
        media_type="application/json",
        headers={SIGNATURE_HEADER: jws, "Cache-Control": "no-store"},
    )


async def _signed_page(
    ctx: ServiceContext,
    principal: Principal,
    agency: uuid.UUID,
    dataset: str,
    body: bytes,
    count: int,
    detail: dict[str, Any],
    workers: list[uuid.UUID] | None = None,
    fields: tuple[str, ...] = WORKER_FIELDS,
) -> Response:
    async with ctx.db.write() as session:
        jws, entry_hash = await _audited_signature(
            session,
            _signer(ctx),
            principal,
            agency,
            action="pull",
            dataset=dataset,
            body=body,
            count=count,
            detail=detail,
        )
        now = utcnow()
        session.add_all(
            AgencyWorkerRead(
                id=new_id(),
                worker_id=worker_id,
                agency_id=agency,
                dataset=dataset,
                fields=list(fields),
                audit_hash=entry_hash,
                read_at=now,
            )
            for worker_id in workers or ()
        )
    return _response(body, jws)


_SIGNED_PAGE = {
    200: {
        "description": f"A page, signed (header {SIGNATURE_HEADER}); continue with "
        "after=next_after while it is not null.",
        "content": {"application/json": {}},
    }
}


@router.get("/jobs", responses=_SIGNED_PAGE)
async def pull_jobs(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(scopes=["feed:jobs"])),
    after: str | None = Query(None, max_length=200, description="next_after of the last page"),
    limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX),
) -> Response:
    """Open jobs for a public employment service platform (``feed:jobs``), oldest first,
    without the jobs it sent us itself; signed and audited."""
    agency, grant = await _grant(ctx, principal, "jobs")
    fields = tuple(f for f in JOB_FIELDS if f in grant.fields)
    query = select(Job).where(
        Job.status == "open", or_(Job.agency_id.is_(None), Job.agency_id != agency)
    )
    rows, next_after = await _page(ctx, query, Job.id, after, limit)
    items = [
        {"id": job.id, **{f: getattr(job, f) for f in fields}, "updated_at": job.updated_at}
        for job in rows
    ]
    body = _dumps({"dataset": "jobs", "next_after": next_after, "fields": fields, "items": items})
    detail = {"after": after, "next_after": next_after, "agreements": list(grant.agreement_ids)}
    return await _signed_page(ctx, principal, agency, "jobs", body, len(items), detail)


async def _page(
    ctx: ServiceContext, query: Any, key: Any, after: str | None, limit: int
) -> tuple[list[Any], str | None]:
    async with ctx.db.read() as session:
        return await keyset_page(session, query, key, after, limit)


@router.get("/available-workers", responses=_SIGNED_PAGE)
async def pull_available_workers(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(scopes=["feed:available-workers"])),
    after: str | None = Query(None, max_length=200, description="next_after of the last page"),
    limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX),
) -> Response:
    """Available certified workers who consented to be shared with the calling platform
    (``feed:available-workers``): a valid certificate, no open engagement, not excluded by
    the match policy; signed and audited."""
    agency, grant = await _grant(ctx, principal, "available-workers")
    fields = tuple(f for f in WORKER_FIELDS if f in grant.fields)
    now = utcnow()
    today = date.today()
    async with ctx.db.read() as session:
        weights = (await current_policy(session)).weights
    certified = exists().where(
        CandidateCertificate.worker_id == Candidate.worker_id,
        or_(CandidateCertificate.valid_until.is_(None), CandidateCertificate.valid_until >= today),
    )
    consented = exists().where(
        CandidateConsent.worker_id == Candidate.worker_id,
        CandidateConsent.scope == CONSENT_SCOPE,
        CandidateConsent.recipient == str(agency).lower(),
        CandidateConsent.granted,
        or_(CandidateConsent.expires_at.is_(None), CandidateConsent.expires_at > now),
    )
    query = select(Candidate).where(
        Candidate.name.is_not(None),
        Candidate.open_engagements == 0,
        or_(Candidate.status.is_(None), Candidate.status.not_in(weights.excluded_worker_statuses)),
        or_(
            Candidate.card_status.is_(None),
            Candidate.card_status.not_in(weights.blocked_card_statuses),
        ),
        or_(
            Candidate.list_status.is_(None),
            Candidate.list_status.not_in(weights.blocked_list_statuses),
        ),
        certified,
        consented,
    )
    rows, next_after = await _page(ctx, query, Candidate.worker_id, after, limit)
    items = [
        {"worker_id": item["worker_id"], **{f: item[f] for f in fields}}
        for item in await _workers(ctx, rows, today)
    ]
    body = _dumps(
        {
            "dataset": "available-workers",
            "next_after": next_after,
            "fields": fields,
            "items": items,
        }
    )
    detail = {"after": after, "next_after": next_after, "agreements": list(grant.agreement_ids)}
    workers = [c.worker_id for c in rows]
    return await _signed_page(
        ctx, principal, agency, "available-workers", body, len(items), detail, workers, fields
    )


async def _workers(ctx: ServiceContext, rows: list[Candidate], today: date) -> list[dict[str, Any]]:
    ids = [c.worker_id for c in rows]
    if not ids:
        return []
    async with ctx.db.read() as session:
        tracks = (
            await session.execute(
                select(DeclaredTrack.worker_id, DeclaredTrack.track).where(
                    DeclaredTrack.worker_id.in_(ids)
                )
            )
        ).all()
        certificates = (
            await session.scalars(
                select(CandidateCertificate)
                .where(
                    CandidateCertificate.worker_id.in_(ids),
                    or_(
                        CandidateCertificate.valid_until.is_(None),
                        CandidateCertificate.valid_until >= today,
                    ),
                )
                .order_by(CandidateCertificate.issued_at)
            )
        ).all()
    by_tracks: dict[uuid.UUID, list[str]] = {}
    for worker_id, track in tracks:
        by_tracks.setdefault(worker_id, []).append(track)
    by_certs: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for cert in certificates:
        by_certs.setdefault(cert.worker_id, []).append(
            {
                "number": cert.number,
                "kind": cert.kind,
                "track": cert.track,
                "valid_until": cert.valid_until,
            }
        )
    return [
        {
            "worker_id": c.worker_id,
            "name": c.name,
            "county": c.county,
            "tracks": sorted(by_tracks.get(c.worker_id, [])),
            "languages": c.languages or [],
            "stars": c.stars,
            "certificates": by_certs.get(c.worker_id, []),
        }
        for c in rows
    ]


class JobImport(BaseModel):
    """A batch of a platform's jobs, in the agreed format: each row a job as posted here
    (title, track, city, schedule, pay_min, pay_max, start_date …) with the platform's own
    ``external_id`` and, optionally, its ``status`` there (open, paused, filled, closed;
    default open)."""

    jobs: list[Any] = Field(
        min_length=1,
        max_length=IMPORT_MAX_ROWS,
        description="Rows, each checked on its own; a bad row is reported, the others land",
    )


@router.post(
    "/jobs",
    response_model=BulkReport,
    responses={
        200: {"description": f"The per-row report, signed (header {SIGNATURE_HEADER})"},
        401: {"description": f"No valid signature in {SIGNATURE_HEADER} by a key of the agency"},
    },
)
async def import_jobs(
    body: JobImport,
    request: Request,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(scopes=["import:jobs"])),
) -> Response:
    """Import a public employment service platform's jobs (``import:jobs``): each row is
    stored as a job whose source is the calling agency, keyed by (agency, ``external_id``):
    importing the same row again leaves it unchanged, a changed row updates the job (while
    it is open or paused), a row's ``status`` moves it (a filled or closed job leaves the
    board; a closed one cannot come back). The per-row report says created, updated,
    unchanged or error (with the fields at fault); it is signed and the import audited.

    The body must be signed by an active key the agency registered at the registry (a detached
    JWS over its exact bytes in ``Jiasao-Signature``, as for the registry's signed imports):
    without one, or for other bytes, 401 ``invalid-signature``; another agency's or a revoked
    key, 403."""
    agency, _ = await _grant(ctx, principal, "jobs-import")
    raw = await request.body()
    jws = request.headers.get(SIGNATURE_HEADER)
    async with ctx.db.read() as session:
        kid = await agency_keys.verify_agency_signature(session, agency, jws, raw)
    assert jws is not None
    received = sha256_hex(raw)
    with conflict_on_race("The same jobs were imported at the same moment; send them again"):
        async with ctx.db.write() as session:
            report = await jobs.post_bulk(session, principal, body.jobs, with_status=True)
            out = _dumps(report.model_dump())
            jws, _ = await _audited_signature(
                session,
                _signer(ctx),
                principal,
                agency,
                action="import",
                dataset="jobs",
                body=out,
                count=report.created + report.updated + report.unchanged,
                detail={
                    "kid": kid,
                    "signature_sha256": sha256_hex(jws.encode()),
                    "rows": len(body.jobs),
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "errors": report.errors,
                },
                received_sha256=received,
            )
    return _response(out, jws)


class CandidateAgencyReadOut(BaseModel):
    agency_id: uuid.UUID
    dataset: str
    fields: list[str]
    read_at: datetime
    audit_hash: str = Field(description="The audit-log entry that records the exchange")


@reads_router.get(
    "/candidates/{worker_id}/agency-reads", response_model=list[CandidateAgencyReadOut]
)
async def candidate_agency_reads(
    worker_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, "worker")),
) -> list[CandidateAgencyReadOut]:
    """Which agencies received this worker's record (available-workers and hires pages),
    newest first, at most the last 500: the worker themself, officers and admins."""
    if not principal.is_privileged and not principal.acts_for(worker_id):
        raise NotFound("worker", worker_id)
    async with ctx.db.read() as session:
        rows = (
            await session.scalars(
                select(AgencyWorkerRead)
                .where(AgencyWorkerRead.worker_id == worker_id)
                .order_by(AgencyWorkerRead.read_at.desc(), AgencyWorkerRead.id.desc())
                .limit(500)
            )
        ).all()
    return [CandidateAgencyReadOut.model_validate(row, from_attributes=True) for row in rows]
