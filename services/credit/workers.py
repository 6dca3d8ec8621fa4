"""Credit's read models of workers (name, masked ID number) and of their current company,
fed by registry events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import CreditEmployment, CreditWorker
from services.kit.dialect import dialect_insert
from services.kit.types import utcnow


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
    stmt = dialect_insert(session, CreditWorker).values(
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


async def record_employment(
    session: AsyncSession,
    worker_id: uuid.UUID,
    *,
    company_id: uuid.UUID | None,
    changed_at: datetime,
) -> None:
    """Take the worker's company from an EmploymentChanged unless a newer change is stored."""
    stmt = dialect_insert(session, CreditEmployment).values(
        worker_id=worker_id, company_id=company_id, changed_at=changed_at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[CreditEmployment.worker_id],
        set_={"company_id": stmt.excluded.company_id, "changed_at": stmt.excluded.changed_at},
        # Strictly newer: a redelivered or late older event leaves the row alone.
        where=stmt.excluded.changed_at > CreditEmployment.changed_at,
    )
    await session.execute(stmt)


async def current_company(session: AsyncSession, worker_id: uuid.UUID) -> uuid.UUID | None:
    employment = await session.get(CreditEmployment, worker_id)
    return employment.company_id if employment is not None else None
