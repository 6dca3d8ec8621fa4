"""Helpers for the training tests: a JetStream client that plays the other services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from contracts.registry import WorkerRegistered, WorkerUpdated
from services.kit.tables import outbox
from services.training.models import KnownWorker
from tests.support.apps import context, eventually
from tests.support.jetstream import JetStreamPeer


def worker_registered(
    worker_id: uuid.UUID | None = None, *, name: str = "陈秀英", at: datetime | None = None
) -> WorkerRegistered:
    return WorkerRegistered(
        worker_id=str(worker_id or uuid.uuid4()),
        name=name,
        gender="female",
        birth_date=date(1978, 5, 4),
        county="gaoyao",
        id_card_masked="441202********123X",
        phone_masked="138****5678",
        tracks=["maternal_infant"],
        languages=["cantonese"],
        status="registered",
        company_id=None,
        registered_at=at or datetime.now(UTC),
    )


def worker_updated(
    worker_id: uuid.UUID, *, name: str, county: str = "duanzhou", at: datetime | None = None
) -> WorkerUpdated:
    return WorkerUpdated(
        worker_id=str(worker_id),
        name=name,
        county=county,  # type: ignore[arg-type]
        tracks=["elderly_care"],
        languages=["cantonese"],
        education=None,
        target_groups=[],
        health_check_valid_until=None,
        no_criminal_record_valid_until=None,
        updated_at=at or datetime.now(UTC) + timedelta(seconds=1),
    )


COURSE: dict[str, Any] = {
    "title": "母婴护理员（初级）",
    "track": "maternal_infant",
    "training_type": "pre_job",
    "hours": 40,
    "pass_score": 60,
}


@dataclass
class Training:
    """The running training app, its client, and a peer playing the registry."""

    app: FastAPI
    client: httpx.AsyncClient
    peer: JetStreamPeer

    async def create_course(self, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/courses", json={**COURSE, **overrides})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def known_worker(self, name: str = "陈秀英") -> uuid.UUID:
        """Announce a worker as the registry would and wait until training has it."""
        worker_id = uuid.uuid4()
        await self.peer.publish(worker_registered(worker_id, name=name))
        await eventually(lambda: self.worker(worker_id))
        return worker_id

    async def worker(self, worker_id: uuid.UUID) -> KnownWorker | None:
        async with context(self.app).db.read() as session:
            return await session.get(KnownWorker, worker_id)

    async def enroll(self, course_id: str, worker_id: uuid.UUID) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/enrollments", json={"course_id": course_id, "worker_id": str(worker_id)}
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def all_published(self) -> bool:
        """True once the outbox has rows and the relay has published every one."""
        async with context(self.app).db.read() as session:
            pending = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            total = await session.scalar(select(func.count()).select_from(outbox))
        return bool(total) and not pending
