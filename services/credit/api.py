"""Credit HTTP routes under /api/v1: certificates, their public verification, and the log of
who read a worker's credit data.

Every route declares its policy (services.kit.policy); the relation of the caller to the worker
is then checked in :mod:`services.credit.access`. A caller whose role may read *some* workers
but not this one gets 404, as if the certificate or worker did not exist.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Select, select

from services.credit import access, service
from services.credit.access import CREDIT_READ_SCOPE, Reader
from services.credit.models import Certificate, CreditAccessLog, CreditWorker
from services.credit.numbers import NUMBER_PATTERN
from services.credit.schemas import AccessLogEntry, CertificateOut, CertificateVerification
from services.kit.app import ServiceContext, get_ctx
from services.kit.errors import NotFound
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, keyset_page
from services.kit.policy import STAFF, allow, public
from services.kit.principal import Principal, forbidden

router = APIRouter(prefix="/api/v1", tags=["certificates"])

#: Who may ask for people's certificates at all; access.reader_of decides per worker.
read_people = allow(*STAFF, "worker", "company", "employer", scopes=[CREDIT_READ_SCOPE])


def certificate_out(
    certificate: Certificate, worker: CreditWorker | None, reader: Reader
) -> CertificateOut:
    return CertificateOut(
        id=certificate.id,
        number=certificate.number,
        check_code=certificate.check_code if reader.sees_check_code else None,
        kind=certificate.kind,  # type: ignore[arg-type]
        worker_id=certificate.worker_id,
        worker_name=worker.name if worker else None,
        worker_id_card=worker.id_card_masked if worker and reader.sees_id_card else None,
        track=certificate.track,  # type: ignore[arg-type]
        course_id=certificate.course_id,
        course_title=certificate.course_title,
        training_type=certificate.training_type,
        enrollment_id=certificate.enrollment_id,
        issued_at=certificate.issued_at,
        valid_until=certificate.valid_until,
        revoked_at=certificate.revoked_at,
        valid=service.is_valid(certificate),
        version=certificate.version,
    )


def _etag(
    out: CertificateOut | CertificateVerification, certificate: Certificate, view: str
) -> str:
    # Validity and the worker's name change without the certificate's version changing, and
    # each view shows different fields.
    return etag_for(certificate.id, certificate.version, out.valid, out.worker_name, view)


@router.get(
    "/verifications/certificates/{number}",
    response_model=CertificateVerification,
    dependencies=[Depends(public())],
)
async def verify_certificate(
    request: Request,
    number: str = Path(pattern=NUMBER_PATTERN, examples=["ZQJS-2026-000123"]),
    code: str | None = Query(
        None,
        max_length=32,
        examples=["7K3M9QTX"],
        description="The check code printed on the certificate (case and hyphens ignored)",
    ),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """Public check of a certificate by its number and check code; shows only a masked name.

    A wrong or missing check code answers 404 exactly like an unknown number.
    """
    async with ctx.db.read() as session:
        certificate, worker = await service.verify(session, number, code)
    out = CertificateVerification(
        number=certificate.number,
        kind=certificate.kind,  # type: ignore[arg-type]
        track=certificate.track,  # type: ignore[arg-type]
        worker_name=service.mask_name(worker.name) if worker else None,
        issued_at=certificate.issued_at,
        valid_until=certificate.valid_until,
        valid=service.is_valid(certificate),
    )
    return conditional_json(request, out, _etag(out, certificate, "public"))


@router.get("/certificates/{certificate_id}", response_model=CertificateOut)
async def get_certificate(
    certificate_id: uuid.UUID,
    request: Request,
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """One certificate: for staff, its holder, the holder's company, and employers or partners
    (scope credit:read) the holder consented to; 404 for anyone else."""
    async with ctx.db.read() as session:
        certificate, worker = await service.get_certificate(session, certificate_id)
        reader = await access.reader_of(session, principal, certificate.worker_id)
    if reader is None:
        raise NotFound("certificate", certificate_id)
    if reader.is_logged:
        async with ctx.db.write() as session:
            await access.log_read(
                session,
                reader,
                certificate.worker_id,
                resource="certificate",
                items=1,
                certificate_id=certificate.id,
            )
    out = certificate_out(certificate, worker, reader)
    return conditional_json(request, out, _etag(out, certificate, reader.view))


@router.get("/certificates", response_model=Page[CertificateOut])
async def list_certificates(
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
    worker_id: uuid.UUID | None = Query(
        None, description="Required unless the caller is an officer or admin"
    ),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CertificateOut]:
    """Certificates, oldest first. Everyone's only for officers and admins; others pass
    ``worker_id`` and get what GET /workers/{worker_id}/certificates would give them."""
    if worker_id is not None:
        return await _worker_page(ctx, principal, worker_id, cursor, limit)
    if not principal.is_privileged:
        raise forbidden("Only officers and admins may list every certificate; pass worker_id")
    return await _page(ctx, _certificates_query(), cursor, limit, Reader(principal, "staff"))


@router.get("/workers/{worker_id}/certificates", response_model=Page[CertificateOut])
async def worker_certificates(
    worker_id: uuid.UUID,
    principal: Principal = Depends(read_people),
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CertificateOut]:
    """A worker's certificates, oldest first; an empty page if they have none (yet).

    For staff, the worker, their company, and employers or partners (scope credit:read) the
    worker consented to; 404 for anyone else.
    """
    return await _worker_page(ctx, principal, worker_id, cursor, limit)


@router.get("/workers/{worker_id}/credit/access-log", response_model=Page[AccessLogEntry])
async def credit_access_log(
    worker_id: uuid.UUID,
    principal: Principal = Depends(allow(*STAFF, "worker")),
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[AccessLogEntry]:
    """Who read this worker's credit data (companies, employers, partner platforms), oldest
    first. For the worker themself and programme staff."""
    if not (principal.is_privileged or principal.acts_for(worker_id)):
        raise NotFound("worker", worker_id)
    query = select(CreditAccessLog).where(CreditAccessLog.worker_id == worker_id)
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(session, query, CreditAccessLog.id, cursor, limit)
    return Page[AccessLogEntry](
        items=[AccessLogEntry.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_cursor,
    )


async def _worker_page(
    ctx: ServiceContext,
    principal: Principal,
    worker_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> Page[CertificateOut]:
    async with ctx.db.read() as session:
        reader = await access.reader_of(session, principal, worker_id)
    if reader is None:
        raise NotFound("worker", worker_id)
    query = _certificates_query().where(Certificate.worker_id == worker_id)
    page = await _page(ctx, query, cursor, limit, reader)
    if reader.is_logged:
        async with ctx.db.write() as session:
            await access.log_read(
                session, reader, worker_id, resource="certificates", items=len(page.items)
            )
    return page


def _certificates_query() -> Select[tuple[Certificate, CreditWorker]]:
    return select(Certificate, CreditWorker).outerjoin(
        CreditWorker, CreditWorker.worker_id == Certificate.worker_id
    )


async def _page(
    ctx: ServiceContext,
    query: Select[tuple[Certificate, CreditWorker]],
    cursor: str | None,
    limit: int,
    reader: Reader,
) -> Page[CertificateOut]:
    async with ctx.db.read() as session:
        rows, next_cursor = await keyset_page(
            session,
            query,
            Certificate.id,
            cursor,
            limit,
            whole_rows=True,
            key_of=lambda row: row[0].id,
        )
    return Page[CertificateOut](
        items=[certificate_out(c, w, reader) for c, w in rows], next_cursor=next_cursor
    )
