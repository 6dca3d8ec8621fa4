"""Training's read model of workers, fed by registry events (it never calls the registry)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.types import utcnow
from services.training.models import KnownEmployment, KnownWorker


def dialect_insert(session: AsyncSession, model: type[Any]) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (SQLite >= 3.24 and PostgreSQL alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


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
