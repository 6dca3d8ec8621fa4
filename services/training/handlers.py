"""Training's event handlers; each runs in the inbox's transaction (effects + inbox row)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from contracts.registry import WorkerRegistered, WorkerUpdated
from services.training.workers import upsert_worker


async def handle_worker_event(
    session: AsyncSession, envelope: CloudEvent[Any], data: EventData
) -> None:
    """Keep ``known_workers`` current from registrations and profile updates.

    Ordered by the registry's own timestamps (``registered_at`` / ``updated_at``), not by
    arrival, so redelivery and reordering converge on the newest profile.
    """
    if isinstance(data, WorkerRegistered):
        as_of = data.registered_at
    elif isinstance(data, WorkerUpdated):
        as_of = data.updated_at
    else:  # a subject we did not subscribe to: nothing to do, but ack it
        return
    await upsert_worker(
        session, uuid.UUID(data.worker_id), name=data.name, county=data.county, as_of=as_of
    )
