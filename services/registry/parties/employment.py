"""Employment: a worker joins and leaves a company; history, newest first."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import (
    EmploymentChanged,
)
from services.kit.errors import Conflict, InvalidField
from services.kit.ids import new_id
from services.kit.outbox import publish
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.parties.models import (
    Company,
    Employment,
    Worker,
)
from services.registry.parties.records import actor_id, flush_unique

log = logging.getLogger(__name__)


async def company_or_422(
    session: AsyncSession, company_id: uuid.UUID, field: list[str | int]
) -> Company:
    company = await session.get(Company, company_id)
    if company is None:
        raise InvalidField(field, f"no company with id {company_id}")
    return company


def employment_row(
    worker_id: uuid.UUID, company_id: uuid.UUID, kind: str, actor: Principal | None, at: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "worker_id": worker_id,
        "company_id": company_id,
        "kind": kind,
        "joined_at": at,
        "joined_by": actor_id(actor),
    }


def joined_event(
    worker_id: uuid.UUID, company_id: uuid.UUID, kind: str, at: datetime
) -> EmploymentChanged:
    return EmploymentChanged(
        worker_id=str(worker_id),
        company_id=str(company_id),
        previous_company_id=None,
        kind=kind,  # type: ignore[arg-type]
        changed_at=at,
    )


async def current_employment(session: AsyncSession, worker_id: uuid.UUID) -> Employment | None:
    return await session.scalar(
        select(Employment).where(Employment.worker_id == worker_id, Employment.left_at.is_(None))
    )


async def join_company(
    session: AsyncSession,
    worker: Worker,
    company_id: uuid.UUID,
    kind: str | None,
    actor: Principal | None,
) -> Employment:
    """Employ ``worker`` at ``company_id`` (kind defaults to the company's).

    409 ``already-employed`` when the worker has a current employment (they must leave first),
    409 ``invalid-transition`` for a worker who left the programme, 422 for an unknown company.
    The partial unique index on employments(worker_id) WHERE left_at IS NULL backs this up.
    """
    company = await company_or_422(session, company_id, ["company_id"])
    if worker.status == "left":
        raise Conflict("A worker who left the programme cannot be employed", slug="worker-left")
    current = await current_employment(session, worker.id)
    if current is not None:
        where = "this company" if current.company_id == company_id else "another company"
        raise Conflict(
            f"The worker is already employed by {where}; they must leave it first",
            slug="already-employed",
        )
    now = utcnow()
    employment = Employment(
        **employment_row(worker.id, company.id, kind or company.kind, actor, now)
    )
    session.add(employment)
    await flush_unique(
        session, "The worker is already employed; they must leave first", "already-employed"
    )
    worker.company_id = company.id
    worker.employment_kind = employment.kind
    worker.version += 1
    worker.updated_at = now
    await session.flush()
    await publish(session, joined_event(worker.id, company.id, employment.kind, now))
    log.info(
        "worker employed",
        extra={"worker_id": str(worker.id), "company_id": str(company.id), "kind": employment.kind},
    )
    return employment


async def leave_company(
    session: AsyncSession, worker: Worker, actor: Principal | None, reason: str | None = None
) -> Employment:
    """End the worker's current employment; 409 ``not-employed`` if there is none."""
    current = await current_employment(session, worker.id)
    if current is None:
        raise Conflict("The worker is not employed by any company", slug="not-employed")
    now = utcnow()
    current.left_at = now
    current.left_by = actor_id(actor)
    current.leave_reason = reason
    worker.company_id = None
    worker.employment_kind = None
    worker.version += 1
    worker.updated_at = now
    await session.flush()
    await publish(
        session,
        EmploymentChanged(
            worker_id=str(worker.id),
            company_id=None,
            previous_company_id=str(current.company_id),
            kind=None,
            changed_at=now,
        ),
    )
    log.info(
        "worker left company",
        extra={"worker_id": str(worker.id), "company_id": str(current.company_id)},
    )
    return current


async def employment_history(session: AsyncSession, worker_id: uuid.UUID) -> list[Employment]:
    query = (
        select(Employment)
        .where(Employment.worker_id == worker_id)
        .order_by(Employment.joined_at.desc(), Employment.id.desc())
    )
    return list((await session.scalars(query)).all())
