"""Helpers for the credit tests: a JetStream client that plays training and the registry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from contracts.registry import WorkerRegistered, WorkerUpdated
from contracts.training import EnrollmentCompleted
from services.credit.models import Certificate, CreditWorker, TrainingCompletion
from services.kit.tables import outbox
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


def worker_updated(worker_id: uuid.UUID, *, name: str, at: datetime) -> WorkerUpdated:
    return WorkerUpdated(
        worker_id=str(worker_id),
        name=name,
        county="duanzhou",
        tracks=["elderly_care"],
        languages=["cantonese"],
        education=None,
        target_groups=[],
        health_check_valid_until=None,
        no_criminal_record_valid_until=None,
        updated_at=at,
    )


def enrollment_completed(
    worker_id: uuid.UUID, *, passed: bool = True, enrollment_id: uuid.UUID | None = None
) -> EnrollmentCompleted:
    return EnrollmentCompleted(
        enrollment_id=str(enrollment_id or uuid.uuid4()),
        worker_id=str(worker_id),
        course_id=str(uuid.uuid4()),
        course_title="养老护理员（初级）",
        track="elderly_care",
        training_type="pre_job",
        hours=38 if passed else 20,
        score=86 if passed else 41,
        passed=passed,
        completed_at=datetime.now(UTC) - timedelta(minutes=1),
    )


@dataclass
class Credit:
    """The running credit app, its client, and a peer playing training and the registry."""

    app: FastAPI
    client: httpx.AsyncClient
    peer: JetStreamPeer

    async def processed(self, consumer: str, count: int) -> bool:
        """True once ``consumer`` has handled (applied or skipped) ``count`` messages."""
        return context(self.app).runners[consumer].processed >= count

    async def certificates(self, enrollment_id: str | None = None) -> list[Certificate]:
        query = select(Certificate).order_by(Certificate.id)
        if enrollment_id is not None:
            query = query.where(Certificate.enrollment_id == uuid.UUID(enrollment_id))
        async with context(self.app).db.read() as session:
            return list((await session.scalars(query)).all())

    async def completion(self, enrollment_id: str) -> TrainingCompletion | None:
        async with context(self.app).db.read() as session:
            return await session.get(TrainingCompletion, uuid.UUID(enrollment_id))

    async def worker(self, worker_id: uuid.UUID) -> CreditWorker | None:
        async with context(self.app).db.read() as session:
            return await session.get(CreditWorker, worker_id)

    async def known_worker(self, name: str = "陈秀英") -> uuid.UUID:
        worker_id = uuid.uuid4()
        await self.peer.publish(worker_registered(worker_id, name=name))
        await eventually(lambda: self.worker(worker_id))
        return worker_id

    async def issue(self, worker_id: uuid.UUID) -> Certificate:
        """Announce a passed completion and wait for its certificate."""
        event = enrollment_completed(worker_id)
        await self.peer.publish(event)
        [certificate] = await eventually(lambda: self.certificates(event.enrollment_id))
        return certificate

    async def all_published(self) -> bool:
        """True once the outbox has rows and the relay has published every one."""
        async with context(self.app).db.read() as session:
            pending = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            total = await session.scalar(select(func.count()).select_from(outbox))
        return bool(total) and not pending
