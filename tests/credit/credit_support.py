"""Helpers for the credit tests: a JetStream client that plays training and the registry, and
tokens for the callers credit serves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from contracts.registry import ConsentChanged, EmploymentChanged, WorkerRegistered, WorkerUpdated
from contracts.training import EnrollmentCompleted
from services.credit.access import has_valid_consent
from services.credit.models import (
    Certificate,
    CreditAccessLog,
    CreditConsent,
    CreditWorker,
    TrainingCompletion,
)
from services.credit.workers import current_company
from services.kit.tables import outbox
from tests.support.apps import context, eventually
from tests.support.jetstream import JetStreamPeer
from tests.support.tokens import bearer

PROBLEM = "application/problem+json"


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


def officer() -> dict[str, str]:
    """An officer's token: reads everything, sees check codes."""
    return bearer("officer")


def employment_changed(
    worker_id: uuid.UUID, company_id: uuid.UUID | None, *, at: datetime | None = None
) -> EmploymentChanged:
    return EmploymentChanged(
        worker_id=str(worker_id),
        company_id=str(company_id) if company_id else None,
        previous_company_id=None,
        kind="employee_based" if company_id else None,
        changed_at=at or datetime.now(UTC),
    )


def consent_changed(
    worker_id: uuid.UUID,
    recipient: uuid.UUID | str,
    *,
    consent_id: uuid.UUID | None = None,
    granted: bool = True,
    scope: str = "credit_data",
    expires_at: datetime | None = None,
    at: datetime | None = None,
) -> ConsentChanged:
    now = datetime.now(UTC)
    return ConsentChanged(
        consent_id=str(consent_id or uuid.uuid4()),
        worker_id=str(worker_id),
        scope=scope,
        recipient=str(recipient),
        granted=granted,
        expires_at=expires_at if expires_at is not None else now + timedelta(days=365),
        changed_at=at or now,
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

    async def company_of(self, worker_id: uuid.UUID) -> uuid.UUID | None:
        async with context(self.app).db.read() as session:
            return await current_company(session, worker_id)

    async def consented(self, worker_id: uuid.UUID, recipient: uuid.UUID) -> bool:
        async with context(self.app).db.read() as session:
            return await has_valid_consent(session, worker_id, str(recipient))

    async def employ(self, worker_id: uuid.UUID, company_id: uuid.UUID | None) -> None:
        """Announce that ``worker_id`` now works for ``company_id`` and wait until credit knows."""
        await self.peer.publish(employment_changed(worker_id, company_id))

        async def applied() -> bool:
            return await self.company_of(worker_id) == company_id

        await eventually(applied)

    async def consent(
        self, worker_id: uuid.UUID, recipient: uuid.UUID | str, **kwargs: Any
    ) -> None:
        """Announce a credit_data consent for ``recipient`` and wait until it is stored."""
        event = consent_changed(worker_id, recipient, **kwargs)
        await self.peer.publish(event)

        async def stored() -> bool:
            async with context(self.app).db.read() as session:
                row = await session.get(CreditConsent, uuid.UUID(event.consent_id))
                return row is not None and row.changed_at == event.changed_at

        await eventually(stored)

    async def access_log(self, worker_id: uuid.UUID) -> list[CreditAccessLog]:
        query = (
            select(CreditAccessLog)
            .where(CreditAccessLog.worker_id == worker_id)
            .order_by(CreditAccessLog.id)
        )
        async with context(self.app).db.read() as session:
            return list((await session.scalars(query)).all())

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
