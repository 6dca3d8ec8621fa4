"""Training's read models of workers and institutions, fed by registry events (it never calls
the registry), and of the certificates credit issued to workers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import CertificateIssued
from services.kit.dialect import dialect_insert
from services.kit.types import utcnow
from services.training.models import (
    Course,
    KnownCertificate,
    KnownEmployment,
    KnownInstitution,
    KnownWorker,
)


async def upsert_worker(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    name: str,
    county: str,
    as_of: datetime,
    target_groups: list[str] | None = None,
) -> None:
    """Insert or refresh a worker, unless the stored row reflects a newer registry state.

    One statement, so concurrent consumers cannot race between a read and a write, and
    events arriving out of order (an update before the registration) leave the newest state.
    """
    stmt = dialect_insert(session, KnownWorker).values(
        worker_id=worker_id,
        name=name,
        county=county,
        target_groups=list(target_groups or []),
        as_of=as_of,
        updated_at=utcnow(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[KnownWorker.worker_id],
        set_={
            "name": stmt.excluded.name,
            "county": stmt.excluded.county,
            "target_groups": stmt.excluded.target_groups,
            "as_of": stmt.excluded.as_of,
            "updated_at": stmt.excluded.updated_at,
        },
        where=stmt.excluded.as_of >= KnownWorker.as_of,
    )
    await session.execute(stmt)


async def upsert_employment(
    session: AsyncSession, worker_id: uuid.UUID, company_id: uuid.UUID | None, as_of: datetime
) -> None:
    """Record the worker's current company (None: left it), newest registry change winning."""
    stmt = dialect_insert(session, KnownEmployment).values(
        worker_id=worker_id, company_id=company_id, as_of=as_of, updated_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[KnownEmployment.worker_id],
        set_={
            "company_id": stmt.excluded.company_id,
            "as_of": stmt.excluded.as_of,
            "updated_at": stmt.excluded.updated_at,
        },
        where=stmt.excluded.as_of >= KnownEmployment.as_of,
    )
    await session.execute(stmt)


async def set_status(
    session: AsyncSession, worker_id: uuid.UUID, status: str, as_of: datetime
) -> None:
    """Record the worker's registry status unless a newer one is stored. A status change that
    arrives before the registration waits for it: the handler raises, so the event is
    redelivered (the worker row carries the name and county a placeholder could not)."""
    worker = await session.get(KnownWorker, worker_id, with_for_update=True)
    if worker is None:
        raise LookupError(f"worker {worker_id} not known yet; retry after the registration")
    if worker.status_as_of is None or worker.status_as_of <= as_of:
        worker.status = status
        worker.status_as_of = as_of
        worker.updated_at = utcnow()


async def upsert_institution(
    session: AsyncSession,
    institution_id: uuid.UUID,
    *,
    name: str,
    level: str,
    tracks: list[str],
    as_of: datetime,
) -> None:
    """Record the institution and mark its courses in approved tracks as verified providers."""
    stmt = dialect_insert(session, KnownInstitution).values(
        institution_id=institution_id, name=name, level=level, tracks=tracks, as_of=as_of
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[KnownInstitution.institution_id],
        set_={
            "name": stmt.excluded.name,
            "level": stmt.excluded.level,
            "tracks": stmt.excluded.tracks,
            "as_of": stmt.excluded.as_of,
        },
        where=stmt.excluded.as_of >= KnownInstitution.as_of,
    )
    await session.execute(stmt)
    if tracks:
        await session.execute(
            update(Course)
            .where(Course.institution_id == institution_id, Course.track.in_(tracks))
            .values(provider_verified=True)
        )


async def provider_verified(
    session: AsyncSession, institution_id: uuid.UUID | None, track: str
) -> bool:
    """Whether the registry announced ``institution_id`` as approved for ``track``."""
    if institution_id is None:
        return False
    institution = await session.get(KnownInstitution, institution_id)
    return institution is not None and track in institution.tracks


async def record_certificate(session: AsyncSession, data: CertificateIssued) -> None:
    """Keep one row per certificate id (a certificate is issued once; redelivery, a
    re-published event or a replay changes nothing)."""
    await record_certificates(session, [data])


async def record_certificates(session: AsyncSession, datas: Sequence[CertificateIssued]) -> None:
    """:func:`record_certificate` for many, in order: one cached INSERT … ON CONFLICT DO
    NOTHING executed for every row (a batch of the inbox in one statement)."""
    if not datas:
        return
    table = KnownCertificate.__table__
    stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=["certificate_id"])
    await session.execute(
        stmt,
        [
            {
                "certificate_id": uuid.UUID(data.certificate_id),
                "worker_id": uuid.UUID(data.worker_id),
                "number": data.certificate_number,
                "kind": data.kind,
                "track": data.track,
                "course_id": uuid.UUID(data.course_id) if data.course_id else None,
                "enrollment_id": uuid.UUID(data.enrollment_id) if data.enrollment_id else None,
                "issued_at": data.issued_at,
                "valid_until": data.valid_until,
            }
            for data in datas
        ],
    )
