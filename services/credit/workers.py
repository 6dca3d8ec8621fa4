"""Credit's read model of workers (name, masked ID number), fed by registry events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import CreditWorker
from services.kit.types import utcnow


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CreditWorker)


async def upsert_worker(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    name: str,
    id_card_masked: str | None,
    as_of: datetime,
) -> None:
    """Insert or refresh a worker in one statement, tolerating out-of-order events.

    The name follows the newest registry state (by the registry's timestamp). The masked ID
    number only comes with the registration, so an older registration arriving after an
    update still fills it in, and an update (which has none) never blanks it.
    """
    stmt = _insert(session).values(
        worker_id=worker_id,
        name=name,
        id_card_masked=id_card_masked,
        as_of=as_of,
        updated_at=utcnow(),
    )
    new, old = stmt.excluded, CreditWorker
    newer = new.as_of >= old.as_of
    stmt = stmt.on_conflict_do_update(
        index_elements=[CreditWorker.worker_id],
        set_={
            "name": case((newer, new.name), else_=old.name),
            "as_of": case((newer, new.as_of), else_=old.as_of),
            "id_card_masked": case(
                (newer, func.coalesce(new.id_card_masked, old.id_card_masked)),
                else_=func.coalesce(old.id_card_masked, new.id_card_masked),
            ),
            "updated_at": new.updated_at,
        },
    )
    await session.execute(stmt)
