"""Credit's event handlers; each runs in the inbox's transaction (effects + inbox row)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import WorkerRegistered, WorkerUpdated
from contracts.training import EnrollmentCompleted
from services.credit.service import record_completion
from services.credit.workers import upsert_worker


async def handle_enrollment_completed(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Issue a training certificate for a passed completion, exactly once per enrolment."""
    if isinstance(data, EnrollmentCompleted):
        await record_completion(session, data)


async def handle_worker_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``credit_workers`` current, ordered by the registry's own timestamps."""
    if isinstance(data, WorkerRegistered):
        await upsert_worker(
            session,
            uuid.UUID(data.worker_id),
            name=data.name,
            id_card_masked=data.id_card_masked,
            as_of=data.registered_at,
        )
    elif isinstance(data, WorkerUpdated):
        await upsert_worker(
            session,
            uuid.UUID(data.worker_id),
            name=data.name,
            id_card_masked=None,
            as_of=data.updated_at,
        )
