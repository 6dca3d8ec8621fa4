"""A worker's status life cycle: transitions, verification and their history rows."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import (
    WorkerStatusChanged,
    WorkerVerified,
)
from services.kit.errors import Conflict, InvalidField
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.parties.access import TRANSITIONS
from services.registry.parties.employment import leave_company
from services.registry.parties.models import (
    Worker,
    WorkerStatusChange,
)
from services.registry.parties.records import actor_id, actor_role

log = logging.getLogger(__name__)


def history_row(
    worker_id: uuid.UUID,
    source: str | None,
    target: str,
    reason: str,
    actor: Principal | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "worker_id": worker_id,
        "from_status": source,
        "to_status": target,
        "reason": reason,
        "changed_by": actor_id(actor),
        "changed_by_role": actor_role(actor),
        "changed_at": at,
    }


def history_change(
    worker: Worker, source: str | None, target: str, reason: str, actor: Principal | None
) -> WorkerStatusChange:
    return WorkerStatusChange(**history_row(worker.id, source, target, reason, actor, utcnow()))


def check_transition(source: str, target: str) -> None:
    """409 ``invalid-transition`` unless the life-cycle table allows ``source → target``."""
    allowed = TRANSITIONS.get(source, frozenset())
    if target not in allowed:
        raise Conflict(
            f"A worker cannot go from {source} to {target}"
            + (f"; from {source} they may go to {', '.join(sorted(allowed))}" if allowed else ""),
            slug="invalid-transition",
            allowed=sorted(allowed),
        )


async def _move(
    session: AsyncSession,
    worker: Worker,
    target: str,
    reason: str,
    actor: Principal | None,
) -> datetime:
    source = worker.status
    check_transition(source, target)
    history = history_change(worker, source, target, reason, actor)
    session.add(history)
    worker.status = target
    worker.version += 1
    worker.updated_at = history.changed_at
    if target == "registered":  # re-admission: identity must be checked again
        worker.verified_at = None
        worker.verified_by = None
    await session.flush()
    await publish(
        session,
        WorkerStatusChanged(
            worker_id=str(worker.id),
            from_status=source,  # type: ignore[arg-type]
            to_status=target,  # type: ignore[arg-type]
            changed_by=actor_id(actor),
            reason=reason,
            changed_at=history.changed_at,
        ),
    )
    log.info(
        "worker status changed",
        extra={"worker_id": str(worker.id), "from": source, "to": target, "actor": actor_id(actor)},
    )
    return history.changed_at


async def change_worker_status(
    session: AsyncSession, worker: Worker, target: str, reason: str, actor: Principal | None
) -> Worker:
    """Move a worker along the life cycle (not to ``verified``: use :func:`verify_worker`).

    Leaving the programme (``left``) also ends the worker's current employment.
    Publishes WorkerStatusChanged (and EmploymentChanged when an employment ends).
    """
    if target == "verified":
        raise InvalidField("to", "use POST /api/v1/workers/{id}/verify to verify a worker")
    if target == worker.status:
        raise Conflict(f"The worker is already {target}", slug="invalid-transition")
    await _move(session, worker, target, reason, actor)
    if target == "left" and worker.company_id is not None:
        await leave_company(session, worker, actor, reason="left the programme")
    return worker


async def verify_worker(
    session: AsyncSession, worker: Worker, actor: Principal | None, reason: str
) -> Worker:
    """registered → verified; publishes WorkerVerified and WorkerStatusChanged."""
    if worker.status != "registered":
        raise Conflict(
            f"Only a registered worker can be verified; this one is {worker.status}",
            slug="invalid-transition",
        )
    at = await _move(session, worker, "verified", reason, actor)
    worker.verified_at = at
    worker.verified_by = actor_id(actor)
    await publish(
        session,
        WorkerVerified(worker_id=str(worker.id), verified_by=actor_id(actor), verified_at=at),
    )
    return worker


async def status_history(session: AsyncSession, worker_id: uuid.UUID) -> list[WorkerStatusChange]:
    query = (
        select(WorkerStatusChange)
        .where(WorkerStatusChange.worker_id == worker_id)
        .order_by(WorkerStatusChange.changed_at, WorkerStatusChange.id)
    )
    return list((await session.scalars(query)).all())
