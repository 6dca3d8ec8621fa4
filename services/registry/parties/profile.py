"""Changing a worker's profile (merge patch) and publishing ``registry.worker.updated``."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.registry import (
    WorkerUpdated,
)
from services.kit.outbox import publish
from services.kit.pii import PiiCipher
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.registry.parties.models import (
    WORKER_PHONE_CONTEXT,
    Worker,
)
from services.registry.parties.records import actor_id
from services.registry.parties.schemas.workers import WorkerPatch
from services.registry.parties.worker_fields import (
    set_health_check,
    set_no_criminal_record,
    set_phone,
    sync_tags,
)

log = logging.getLogger(__name__)


def _patch_changes(worker: Worker, patch: WorkerPatch) -> dict[str, Any]:
    """Fields of ``patch`` whose value differs from the record (phone compared by index)."""
    changes: dict[str, Any] = {}
    for field in patch.model_fields_set:
        value = getattr(patch, field)
        if field in ("health_check", "no_criminal_record"):
            current = _check_of(worker, field)
            value = value.model_dump() if value is not None else None
        elif field == "phone":
            changes["phone"] = value  # compared by the caller through the blind index
            continue
        else:
            current = getattr(worker, field)
        if value != current:
            changes[field] = value
    return changes


def _check_of(worker: Worker, field: str) -> dict[str, Any] | None:
    """The stored certificate as the dict its input model dumps to (None if none on file)."""
    if field == "health_check":
        if worker.health_check_date is None:
            return None
        return {
            "date": worker.health_check_date,
            "institution": worker.health_check_institution,
            "valid_until": worker.health_check_valid_until,
        }
    if worker.no_criminal_record_date is None:
        return None
    return {
        "date": worker.no_criminal_record_date,
        "result": worker.no_criminal_record_result,
        "valid_until": worker.no_criminal_record_valid_until,
    }


async def update_worker(
    session: AsyncSession,
    cipher: PiiCipher,
    worker: Worker,
    patch: WorkerPatch,
    actor: Principal | None,
) -> bool:
    """Apply ``patch``; returns False (no version bump, no event) when nothing changed.

    Publishes WorkerUpdated with the whole profile. Optimistic concurrency (If-Match) is the
    caller's job: compare the version before calling.
    """
    changes = _patch_changes(worker, patch)
    if "phone" in changes:
        if cipher.blind_index(changes["phone"], context=WORKER_PHONE_CONTEXT) == worker.phone_index:
            del changes["phone"]
        else:
            set_phone(cipher, worker, changes.pop("phone"))
            changes["phone"] = True
    if not changes:
        return False
    for field, value in changes.items():
        if field == "health_check":
            set_health_check(worker, patch.health_check)
        elif field == "no_criminal_record":
            set_no_criminal_record(worker, patch.no_criminal_record)
        elif field != "phone":
            setattr(worker, field, list(value) if isinstance(value, list) else value)
    if "tracks" in changes or "target_groups" in changes:
        await sync_tags(session, worker, fresh=False)
    worker.version += 1
    worker.updated_at = utcnow()
    await session.flush()
    await publish_worker_updated(session, worker)
    log.info(
        "worker updated",
        extra={"worker_id": str(worker.id), "fields": sorted(changes), "actor": actor_id(actor)},
    )
    return True


async def publish_worker_updated(session: AsyncSession, worker: Worker) -> None:
    await publish(
        session,
        WorkerUpdated(
            worker_id=str(worker.id),
            name=worker.name,
            county=worker.county,  # type: ignore[arg-type]
            tracks=worker.tracks,  # type: ignore[arg-type]
            languages=worker.languages,
            education=worker.education,
            target_groups=worker.target_groups,  # type: ignore[arg-type]
            health_check_valid_until=worker.health_check_valid_until,
            no_criminal_record_valid_until=worker.no_criminal_record_valid_until,
            updated_at=worker.updated_at,
            phone_masked=worker.phone_masked,
            status=worker.status,  # type: ignore[arg-type]
            company_id=str(worker.company_id) if worker.company_id else None,
        ),
    )
