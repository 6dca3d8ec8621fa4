"""A worker's column values built from validated input: encrypted numbers, checks, tags.

Shared by registration (single and bulk) and profile updates, so both store the same shapes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.idnumbers import mask_mobile
from services.kit.pii import PiiCipher
from services.registry.parties.models import (
    WORKER_PHONE_CONTEXT,
    Worker,
    WorkerTargetGroup,
    WorkerTrack,
)
from services.registry.parties.schemas.workers import HealthCheck, NoCriminalRecordCheck


def phone_fields(cipher: PiiCipher, phone: str) -> dict[str, str]:
    return {
        "phone_encrypted": cipher.encrypt(phone, context=WORKER_PHONE_CONTEXT),
        "phone_index": cipher.blind_index(phone, context=WORKER_PHONE_CONTEXT),
        "phone_masked": mask_mobile(phone),
    }


def health_check_fields(check: HealthCheck | None) -> dict[str, Any]:
    return {
        "health_check_date": check.date if check else None,
        "health_check_institution": check.institution if check else None,
        "health_check_valid_until": check.valid_until if check else None,
    }


def no_criminal_record_fields(check: NoCriminalRecordCheck | None) -> dict[str, Any]:
    return {
        "no_criminal_record_date": check.date if check else None,
        "no_criminal_record_result": check.result if check else None,
        "no_criminal_record_valid_until": check.valid_until if check else None,
    }


def assign(worker: Worker, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(worker, name, value)


def set_phone(cipher: PiiCipher, worker: Worker, phone: str) -> None:
    assign(worker, phone_fields(cipher, phone))


def set_health_check(worker: Worker, check: HealthCheck | None) -> None:
    assign(worker, health_check_fields(check))


def set_no_criminal_record(worker: Worker, check: NoCriminalRecordCheck | None) -> None:
    assign(worker, no_criminal_record_fields(check))


def track_rows(worker_id: uuid.UUID, tracks: Sequence[str]) -> list[dict[str, Any]]:
    return [{"worker_id": worker_id, "track": t} for t in tracks]


def target_group_rows(worker_id: uuid.UUID, groups: Sequence[str]) -> list[dict[str, Any]]:
    return [{"worker_id": worker_id, "target_group": g} for g in groups]


async def sync_tags(session: AsyncSession, worker: Worker, *, fresh: bool) -> None:
    """Mirror the JSON lists into the association tables the list filters use."""
    if not fresh:
        await session.execute(delete(WorkerTrack).where(WorkerTrack.worker_id == worker.id))
        await session.execute(
            delete(WorkerTargetGroup).where(WorkerTargetGroup.worker_id == worker.id)
        )
    session.add_all(WorkerTrack(**row) for row in track_rows(worker.id, worker.tracks))
    session.add_all(
        WorkerTargetGroup(**row) for row in target_group_rows(worker.id, worker.target_groups)
    )
