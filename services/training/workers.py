"""Training's read model of workers, fed by registry events (it never calls the registry)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.types import utcnow
from services.training.models import KnownWorker


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (SQLite >= 3.24 and PostgreSQL alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(KnownWorker)


async def upsert_worker(
    session: AsyncSession, worker_id: uuid.UUID, *, name: str, county: str, as_of: datetime
) -> None:
    """Insert or refresh a worker, unless the stored row reflects a newer registry state.

    One statement, so concurrent consumers cannot race between a read and a write, and
    events arriving out of order (an update before the registration) leave the newest state.
    """
    stmt = _insert(session).values(
        worker_id=worker_id, name=name, county=county, as_of=as_of, updated_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[KnownWorker.worker_id],
        set_={
            "name": stmt.excluded.name,
            "county": stmt.excluded.county,
            "as_of": stmt.excluded.as_of,
            "updated_at": stmt.excluded.updated_at,
        },
        where=stmt.excluded.as_of >= KnownWorker.as_of,
    )
    await session.execute(stmt)
