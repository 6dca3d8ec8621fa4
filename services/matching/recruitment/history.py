"""The history of jobs, applications and engagements: every step, who took it, when."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import Conflict
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching.recruitment.models import HistoryEntry
from services.matching.recruitment.schemas import HistoryOut


async def record(
    session: AsyncSession,
    entity: str,
    entity_id: uuid.UUID,
    action: str,
    from_status: str | None,
    to_status: str,
    principal: Principal,
    note: str | None = None,
) -> None:
    session.add(
        HistoryEntry(
            id=new_id(),
            entity=entity,
            entity_id=entity_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor_account_id=principal.subject,
            actor_role=principal.role,
            note=note,
            at=utcnow(),
        )
    )


async def history_of(session: AsyncSession, entity: str, entity_id: uuid.UUID) -> list[HistoryOut]:
    rows = await session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.entity == entity, HistoryEntry.entity_id == entity_id)
        .order_by(HistoryEntry.id)
    )
    return [HistoryOut.model_validate(r, from_attributes=True) for r in rows]


@contextmanager
def conflict_on_race(detail: str) -> Iterator[None]:
    """Around a write: a unique key another request took first (same partner job id, same
    worker and job) is a 409 to retry, not a 500."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(detail, slug="concurrent-change") from exc
