"""Bulk exchange routes: ``/api/v1/imports`` and ``/api/v1/exports``.

Imports are for officers and admins only (company staff register their workers one by one
through ``POST /api/v1/workers``): the file is streamed to a private spool file, the job is
answered at once with 202, and the rows are processed in the background.

Exports: officers and admins (masked by default, ``?unmasked=true`` for the full numbers, which
is audit-logged); partner platforms with the ``workers:read`` scope may export workers, masked
only. Everybody else gets 403.
"""

from __future__ import annotations

import codecs
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from contracts.common import County, EmploymentKind, Track, WorkerStatus
from contracts.registry import InstitutionLevel, TargetGroup
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import InvalidField, NotFound, Problem
from services.kit.ids import new_id
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow
from services.kit.principal import Principal, forbidden
from services.registry.exchange.export import ExportFilters, export_stream
from services.registry.exchange.formats import (
    KINDS,
    MEDIA_TYPES,
    UPLOAD_TYPES,
    Format,
    Kind,
    RowWriter,
    jsonl_page,
)
from services.registry.exchange.jobs import ExchangeRuntime, create_job, discard, get_job
from services.registry.exchange.models import ImportIssue, ImportJob
from services.registry.exchange.schemas import ImportJobOut, JobStatus, job_out
from services.registry.exchange.signed import signed_export
from services.registry.parties.access import WORKERS_READ_SCOPE

router = APIRouter(prefix="/api/v1", tags=["bulk exchange"])

REPORT_COLUMNS = ("line", "key", "outcome", "field", "reason")
_REPORT_PAGE = 1000


def runtime_of(ctx: ServiceContext) -> ExchangeRuntime:
    return ctx.extras["exchange"]  # type: ignore[no-any-return]


def _kind(value: str) -> Kind:
    if value not in KINDS:
        raise Problem(
            404,
            "not-found",
            "Not found",
            f"Nothing to exchange called {value!r}; use one of {', '.join(KINDS)}",
        )
    return value  # type: ignore[return-value]


def _require_officer(principal: Principal, what: str) -> None:
    if not principal.is_privileged:
        raise forbidden(f"Only officers and admins may {what}")


#: A file sent as plain bytes: CSV or JSON Lines is told from its first character (what
#: generated API clients send; they know no text/csv).
OCTET_STREAM = "application/octet-stream"


def _upload_format(content_type: str | None) -> Format | None:
    """The declared format; None for ``application/octet-stream`` (sniffed after spooling)."""
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    fmt = UPLOAD_TYPES.get(media)
    if fmt is None and media != OCTET_STREAM:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"Send the file as {', '.join([*UPLOAD_TYPES, OCTET_STREAM])} (got {media or 'none'})",
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(' "').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise Problem(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "Files must be UTF-8; save the file as CSV UTF-8 and send it again",
            )
    return fmt


def _sniff_format(path: Path) -> Format:
    """JSON Lines when the first character (after a BOM and blanks) opens an object."""
    with path.open("rb") as handle:
        head = handle.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    return "jsonl" if head.startswith(b"{") else "csv"


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "payload-too-large",
        "Payload too large",
        f"The file is larger than {limit} bytes; split it into several imports",
    )


async def _spool(request: Request, path: Path, limit: int) -> int:
    """Stream the body to ``path`` (mode 0600), checking size and UTF-8 on the way."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    raise _not_utf8(size - len(chunk)) from None
                handle.write(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise _not_utf8(size) from None
        if size == 0:
            raise Problem(400, "empty-upload", "Empty upload", "The request body is empty")
        return size
    except BaseException:  # too large, not UTF-8, the client went away, cancelled
        discard(path)
        raise


def _not_utf8(near: int) -> Problem:
    return Problem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"The file is not UTF-8 text (near byte {near}); save it as CSV UTF-8 and send it again",
    )


_SUBMIT_DOC = """Import {kind} from CSV or JSON Lines (officers, admins).

Answers 202 with the job at once; poll ``Location`` until ``status`` is done, failed or
interrupted, then read the report of rows that were not created. Importing the same file
again changes nothing, which is also how to finish an interrupted job. Send the file as
``application/octet-stream`` (CSV or JSON Lines, told apart by the first character) or
declare it: ``text/csv``, ``application/x-ndjson`` / ``application/jsonl``. UTF-8 only.
"""


_UPLOAD_DOC = {
    # Documented as bytes, the one upload type client generators support; text/csv,
    # application/x-ndjson and application/jsonl are accepted too (see the description).
    "requestBody": {
        "required": True,
        "content": {OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _import_route(kind: Kind) -> None:
    """``POST /imports/<kind>``: one literal path per kind, so the path never reads like
    ``/imports/{job_id}`` (one template for two meanings confuses clients and linters)."""

    async def endpoint(
        request: Request,
        response: Response,
        ctx: ServiceContext = Depends(get_ctx),
        principal: Principal = Depends(allow(*STAFF)),
    ) -> ImportJobOut:
        return await submit_import(kind, request, response, ctx, principal)

    endpoint.__doc__ = _SUBMIT_DOC.replace("{kind}", kind)
    router.add_api_route(
        f"/imports/{kind}",
        endpoint,
        methods=["POST"],
        status_code=202,
        response_model=ImportJobOut,
        name=f"import_{kind}",
        openapi_extra=_UPLOAD_DOC,
    )


async def submit_import(
    kind: str,
    request: Request,
    response: Response,
    ctx: ServiceContext,
    principal: Principal,
) -> ImportJobOut:
    _require_officer(principal, "import records in bulk")
    kind_ = _kind(kind)
    fmt = _upload_format(request.headers.get("content-type"))
    runtime = runtime_of(ctx)
    limit = runtime.settings.max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    job_id = new_id()
    path = runtime.spool_path(job_id)
    size = await _spool(request, path, limit)
    if fmt is None:
        fmt = _sniff_format(path)
    try:
        job = await create_job(
            ctx.db,
            job_id=job_id,
            kind=kind_,
            fmt=fmt,
            size=size,
            actor=principal,
            runner=runtime.runner,
        )
    except BaseException:
        discard(path)
        raise
    runtime.submit(job_id, path, kind=kind_, fmt=fmt, actor=principal)
    response.headers["Location"] = f"/api/v1/imports/{job_id}"
    return job_out(job)


for _kind_name in KINDS:
    _import_route(_kind_name)


@router.get("/imports", response_model=Page[ImportJobOut])
async def list_imports(
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
    status: JobStatus | None = Query(None),
    kind: Literal["workers", "companies", "institutions", "target_groups"] | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[ImportJobOut]:
    """Import jobs, newest first (officers, admins)."""
    _require_officer(principal, "see imports")
    query = select(ImportJob)
    if status is not None:
        query = query.where(ImportJob.status == status)
    if kind is not None:
        query = query.where(ImportJob.kind == kind)
    async with ctx.db.read() as session:
        jobs, next_cursor = await keyset_page(
            session, query, ImportJob.id, cursor, limit, descending=True
        )
    return Page[ImportJobOut](items=[job_out(j) for j in jobs], next_cursor=next_cursor)


async def _job(ctx: ServiceContext, principal: Principal, job_id: uuid.UUID) -> ImportJob:
    _require_officer(principal, "see imports")
    job = await get_job(ctx.db, job_id)
    if job is None:
        raise NotFound("import", job_id)
    return job


@router.get("/imports/{job_id:uuid}", response_model=ImportJobOut)
async def read_import(
    job_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
) -> ImportJobOut:
    """An import job: status and counts (officers, admins)."""
    return job_out(await _job(ctx, principal, job_id))


@router.get(
    "/imports/{job_id:uuid}/report",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
async def import_report(
    job_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF)),
    format: Format = Query("csv"),
) -> StreamingResponse:
    """The rows of an import that were not created: line, masked key, outcome (invalid,
    duplicate, conflict, or file for a problem with the file as a whole), field and reason —
    the same message the API gives for that field. Streamed; complete once the job ended."""
    job = await _job(ctx, principal, job_id)

    async def pages() -> AsyncIterator[bytes]:
        writer = RowWriter(list(REPORT_COLUMNS)) if format == "csv" else None
        if writer is not None:
            yield writer.page([])
        after = 0
        while True:
            async with ctx.db.read() as session:
                issues = (
                    await session.scalars(
                        select(ImportIssue)
                        .where(ImportIssue.job_id == job.id, ImportIssue.seq > after)
                        .order_by(ImportIssue.seq)
                        .limit(_REPORT_PAGE)
                    )
                ).all()
            if not issues:
                return
            after = issues[-1].seq
            if writer is not None:
                yield writer.page([[getattr(i, c) for c in REPORT_COLUMNS] for i in issues])
            else:
                yield jsonl_page([{c: getattr(i, c) for c in REPORT_COLUMNS} for i in issues])
            if len(issues) < _REPORT_PAGE:
                return

    return StreamingResponse(
        pages(),
        media_type=_media(format),
        headers={
            "Content-Disposition": f'attachment; filename="import-{job.id}-report.{format}"',
            "Cache-Control": "no-store",
        },
    )


def _filters_apply(kind: Kind, **by_kind: dict[str, object]) -> None:
    """422 for a filter of another kind (``status`` on companies), rather than ignoring it."""
    for owner, filters in by_kind.items():
        if owner == kind:
            continue
        for name, value in filters.items():
            if value is not None:
                raise InvalidField(name, f"filters {owner} only, not {kind}")


def _media(fmt: Format) -> str:
    return MEDIA_TYPES[fmt] + ("; charset=utf-8" if fmt == "csv" else "")


@router.get(
    "/exports/{kind}",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
async def export_records(
    kind: str,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(allow(*STAFF, scopes=[WORKERS_READ_SCOPE])),
    format: Format = Query("csv"),
    unmasked: bool = Query(False, description="Officers and admins: full ID and phone numbers"),
    bom: bool = Query(False, description="Start a CSV with a BOM (for Excel)"),
    county: County | None = Query(None),
    status: WorkerStatus | None = Query(None, description="Workers"),
    track: Track | None = Query(None, description="Workers"),
    target_group: TargetGroup | None = Query(None, description="Workers"),
    company_id: uuid.UUID | None = Query(None, description="Workers"),
    company_kind: EmploymentKind | None = Query(None, alias="kind", description="Companies"),
    level: InstitutionLevel | None = Query(None, description="Institutions"),
) -> Response:
    """Stream workers, companies or institutions in the import's format, masked by default.

    Officers and admins may ask for ``unmasked=true``; partner platforms with
    ``workers:read`` may export workers, masked only. An unmasked CSV export can be imported
    into another registry as it is. Every export is signed by the platform (detached JWS in
    the ``Jiasao-Signature`` header; keys at ``/.well-known/exchange-jwks.json``) and recorded
    in the hash-chained audit log with the caller, the row count and the file's SHA-256.
    """
    kind_ = _kind(kind)
    _filters_apply(
        kind_,
        workers={
            "status": status,
            "track": track,
            "target_group": target_group,
            "company_id": company_id,
        },
        companies={"kind": company_kind},
        institutions={"level": level},
    )
    partner = principal.role == "partner" and principal.has_scope(WORKERS_READ_SCOPE)
    if not principal.is_privileged and not (partner and kind_ == "workers"):
        raise forbidden(f"Role {principal.role} may not export {kind_}")
    if unmasked and not principal.is_privileged:
        raise forbidden("Partner platforms may export masked records only")
    filters = ExportFilters(
        county=county,
        status=status,
        track=track,
        target_group=target_group,
        company_id=company_id,
        kind=company_kind,
        level=level,
    )
    tally = {"rows": 0}
    stream = export_stream(
        ctx.db,
        ctx.extras["pii"],
        kind=kind_,
        fmt=format,
        filters=filters,
        full=unmasked,
        actor=principal,
        page_size=runtime_of(ctx).settings.export_page_size,
        bom=bom,
        tally=tally,
    )
    name = f"{kind_}-{date.today():%Y%m%d}{'' if unmasked else '-masked'}.{format}"
    return await signed_export(
        ctx, principal, stream, tally, kind=kind_, name=name, media_type=_media(format)
    )
