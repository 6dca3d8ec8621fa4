"""Helpers for the training tests: a JetStream client that plays the other services, and
callers with real tokens (officers by default; each test names any other caller it uses)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from contracts.registry import EmploymentChanged, WorkerRegistered, WorkerUpdated
from services.kit.tables import outbox
from services.training.models import KnownEmployment, KnownWorker
from tests.support.apps import context, eventually
from tests.support.jetstream import JetStreamPeer
from tests.support.tokens import bearer

Headers = Mapping[str, str]


def officer() -> dict[str, str]:
    """An officer's Authorization header, minted on use (tokens are short-lived)."""
    return bearer("officer")


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
    #: The institution whose staff the tests usually play.
    institution_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def institution(self, institution_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers of staff of ``institution_id`` (default: the tests' own institution)."""
        return bearer("institution", institution_id or self.institution_id)

    async def post(
        self, path: str, json: Any = None, *, as_: Headers | None = None
    ) -> httpx.Response:
        """POST as ``as_`` (default: an officer)."""
        return await self.client.post(path, json=json, headers=dict(as_ or officer()))

    async def get(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        as_: Headers | None = None,
        headers: Headers | None = None,
    ) -> httpx.Response:
        """GET as ``as_`` (default: an officer), with any extra ``headers``."""
        return await self.client.get(
            path, params=params, headers={**(as_ or officer()), **(headers or {})}
        )

    async def create_course(self, as_: Headers | None = None, **overrides: Any) -> dict[str, Any]:
        response = await self.post("/api/v1/courses", {**COURSE, **overrides}, as_=as_)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def own_course(self, **overrides: Any) -> dict[str, Any]:
        """A course of the tests' own institution, created by its staff."""
        return await self.create_course(as_=self.institution(), **overrides)

    async def known_worker(self, name: str = "陈秀英") -> uuid.UUID:
        """Announce a worker as the registry would and wait until training has it."""
        worker_id = uuid.uuid4()
        await self.peer.publish(worker_registered(worker_id, name=name))
        await eventually(lambda: self.worker(worker_id))
        return worker_id

    async def worker(self, worker_id: uuid.UUID) -> KnownWorker | None:
        async with context(self.app).db.read() as session:
            return await session.get(KnownWorker, worker_id)

    async def employ(self, worker_id: uuid.UUID, company_id: uuid.UUID | None) -> None:
        """Announce the worker's new company (None: left it) and wait until training has it."""
        await self.peer.publish(employment_changed(worker_id, company_id))

        async def arrived() -> bool:
            employment = await self.employment(worker_id)
            return employment is not None and employment.company_id == company_id

        await eventually(arrived)

    async def employment(self, worker_id: uuid.UUID) -> KnownEmployment | None:
        async with context(self.app).db.read() as session:
            return await session.get(KnownEmployment, worker_id)

    async def enroll(
        self, course_id: str, worker_id: uuid.UUID, as_: Headers | None = None
    ) -> dict[str, Any]:
        response = await self.post(
            "/api/v1/enrollments", {"course_id": course_id, "worker_id": str(worker_id)}, as_=as_
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
