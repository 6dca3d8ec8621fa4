"""Credit HTTP routes under /api/v1: certificates and their public verification."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Select, select

from services.credit import service
from services.credit.models import Certificate, CreditWorker
from services.credit.numbers import NUMBER_PATTERN
from services.credit.schemas import CertificateOut, CertificateVerification
from services.kit.app import ServiceContext, get_ctx
from services.kit.http import conditional_json, etag_for
from services.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["certificates"])


def certificate_out(certificate: Certificate, worker: CreditWorker | None) -> CertificateOut:
    return CertificateOut(
        id=certificate.id,
        number=certificate.number,
        kind=certificate.kind,  # type: ignore[arg-type]
        worker_id=certificate.worker_id,
        worker_name=worker.name if worker else None,
        worker_id_card=worker.id_card_masked if worker else None,
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


def _etag(out: CertificateOut | CertificateVerification, certificate: Certificate) -> str:
    # Validity and the worker's name change without the certificate's version changing.
    return etag_for(certificate.id, certificate.version, out.valid, out.worker_name)


@router.get("/certificates/verify/{number}", response_model=CertificateVerification)
async def verify_certificate(
    request: Request,
    number: str = Path(pattern=NUMBER_PATTERN, examples=["ZQJS-2026-000123"]),
    ctx: ServiceContext = Depends(get_ctx),
) -> Response:
    """Public check of a certificate number; reveals only a masked name."""
    async with ctx.db.read() as session:
        certificate, worker = await service.find_by_number(session, number)
    out = CertificateVerification(
        number=certificate.number,
        kind=certificate.kind,  # type: ignore[arg-type]
        track=certificate.track,  # type: ignore[arg-type]
        worker_name=service.mask_name(worker.name) if worker else None,
        issued_at=certificate.issued_at,
        valid_until=certificate.valid_until,
        valid=service.is_valid(certificate),
    )
    return conditional_json(request, out, _etag(out, certificate))


@router.get("/certificates/{certificate_id}", response_model=CertificateOut)
async def get_certificate(
    certificate_id: uuid.UUID, request: Request, ctx: ServiceContext = Depends(get_ctx)
) -> Response:
    async with ctx.db.read() as session:
        certificate, worker = await service.get_certificate(session, certificate_id)
    out = certificate_out(certificate, worker)
    return conditional_json(request, out, _etag(out, certificate))


@router.get("/certificates", response_model=Page[CertificateOut])
async def list_certificates(
    ctx: ServiceContext = Depends(get_ctx),
    worker_id: uuid.UUID | None = Query(None),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CertificateOut]:
    query = _certificates_query()
    if worker_id is not None:
        query = query.where(Certificate.worker_id == worker_id)
    return await _page(ctx, query, cursor, limit)


@router.get("/workers/{worker_id}/certificates", response_model=Page[CertificateOut])
async def worker_certificates(
    worker_id: uuid.UUID,
    ctx: ServiceContext = Depends(get_ctx),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
) -> Page[CertificateOut]:
    """A worker's certificates, oldest first; an empty page if they have none (yet)."""
    query = _certificates_query().where(Certificate.worker_id == worker_id)
    return await _page(ctx, query, cursor, limit)


def _certificates_query() -> Select[tuple[Certificate, CreditWorker]]:
    return select(Certificate, CreditWorker).outerjoin(
        CreditWorker, CreditWorker.worker_id == Certificate.worker_id
    )


async def _page(
    ctx: ServiceContext,
    query: Select[tuple[Certificate, CreditWorker]],
    cursor: str | None,
    limit: int,
) -> Page[CertificateOut]:
    query = query.order_by(Certificate.id).limit(limit + 1)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(Certificate.id > after)
    async with ctx.db.read() as session:
        rows = list((await session.execute(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[CertificateOut](
        items=[certificate_out(c, w) for c, w in rows],
        next_cursor=encode_cursor(rows[-1][0].id) if more else None,
    )
