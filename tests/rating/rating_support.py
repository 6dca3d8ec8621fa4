"""Helpers for the rating tests: a harness around the running app, callers, upstream events."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from nats.js import JetStreamContext
from sqlalchemy import func, select

from contracts.catalog import stream_for
from contracts.envelope import CloudEvent
from contracts.matching import EngagementFinished
from contracts.rating import WorkerRatingChanged
from contracts.registry import EmploymentChanged, WorkerRegistered
from services.kit.tables import inbox, outbox
from services.rating.models import FinishedEngagement, KnownWorker, WorkerEmployment
from services.rating.schemas import CHINA_TZ
from tests.support.apps import context, eventually
from tests.support.jetstream import JetStreamPeer
from tests.support.tokens import bearer

Headers = Mapping[str, str]
YEAR = 2026

#: The durable consumer that keeps the employment read model.
EMPLOYMENT_CONSUMER = "rating-employment"
#: The durable consumer of finished engagements.
ENGAGEMENT_CONSUMER = "rating-engagements"
CRITERIA = ("skill", "punctuality", "attitude", "safety", "communication")


def criteria(value: float, **overrides: float) -> dict[str, float]:
    """Criteria scores, all ``value`` unless overridden (their mean is then ``value``)."""
    return {name: value for name in CRITERIA} | overrides


# --- callers -----------------------------------------------------------------------------------


def employer(account: uuid.UUID | None = None) -> Headers:
    """An employer household's account (``account`` fixes who the rater is)."""
    return bearer("employer", uuid.uuid4(), subject=str(account or uuid.uuid4()))


def company_staff(company_id: uuid.UUID, account: uuid.UUID | None = None) -> Headers:
    return bearer("company", company_id, subject=str(account or uuid.uuid4()))


def worker_account(worker_id: uuid.UUID, account: uuid.UUID | None = None) -> Headers:
    """The worker's own login: the account id is the rater, the worker id the party."""
    return bearer("worker", worker_id, subject=str(account or uuid.uuid4()))


def officer() -> Headers:
    return bearer("officer")


@dataclass
class StreamTap:
    """An ephemeral JetStream pull consumer collecting every event on a subject."""

    sub: JetStreamContext.PullSubscription
    events: list[CloudEvent[Any]] = field(default_factory=list)

    async def poll(self) -> list[CloudEvent[Any]]:
        try:
            messages = await self.sub.fetch(100, timeout=0.2)
        except TimeoutError:
            return self.events
        for message in messages:
            await message.ack()
            self.events.append(CloudEvent[Any].model_validate_json(message.data))
        return self.events

    async def wait_for(self, count: int) -> list[CloudEvent[Any]]:
        async def enough() -> list[CloudEvent[Any]] | None:
            events = await self.poll()
            return events if len(events) >= count else None

        return await eventually(enough)


@dataclass
class RatingHarness:
    """The running rating app, its client, and a peer playing the registry on real NATS."""

    app: FastAPI
    client: httpx.AsyncClient
    peer: JetStreamPeer
    #: Every EngagementFinished published, by engagement id (to replay one).
    finished: dict[uuid.UUID, EngagementFinished] = field(default_factory=dict)

    # --- the registry's side ----------------------------------------------------------------

    async def register(
        self,
        worker_id: uuid.UUID | None = None,
        *,
        company_id: uuid.UUID | None = None,
        **overrides: Any,
    ) -> uuid.UUID:
        """Announce a worker as the registry would, and wait until rating has handled it."""
        worker_id = worker_id or uuid.uuid4()
        company = str(company_id) if company_id else None
        envelope = await self.peer.publish(
            worker_registered(worker_id, company_id=company, **overrides)
        )
        db = context(self.app).db

        async def known() -> bool:
            async with db.read() as session:
                return await session.get(KnownWorker, worker_id) is not None

        await eventually(known)
        await self.handled(envelope)
        return worker_id

    async def employ(
        self,
        worker_id: uuid.UUID,
        company_id: uuid.UUID | None,
        *,
        previous: uuid.UUID | None = None,
        at: datetime | None = None,
    ) -> CloudEvent[Any]:
        """Publish EmploymentChanged (``company_id`` None: the worker left) and wait for it."""
        event = EmploymentChanged(
            worker_id=str(worker_id),
            company_id=str(company_id) if company_id else None,
            previous_company_id=str(previous) if previous else None,
            kind="employee_based" if company_id else None,
            changed_at=at or datetime.now(UTC),
        )
        envelope = await self.peer.publish(event)
        await self.handled(envelope)
        return envelope

    async def handled(self, envelope: CloudEvent[Any], consumer: str = EMPLOYMENT_CONSUMER) -> None:
        """Wait until ``consumer`` committed ``envelope`` (its inbox row), applied or not."""
        db = context(self.app).db

        async def done() -> bool:
            async with db.read() as session:
                found = await session.scalar(
                    select(inbox.c.event_id).where(
                        inbox.c.consumer == consumer, inbox.c.event_id == envelope.id
                    )
                )
            return found is not None

        await eventually(done)

    async def finish_engagement(
        self,
        worker_id: uuid.UUID,
        poster_account: uuid.UUID,
        *,
        year: int = YEAR,
        company_id: uuid.UUID | None = None,
        employer_id: uuid.UUID | None = None,
        finished_at: datetime | None = None,
    ) -> uuid.UUID:
        """Publish matching's EngagementFinished (ending in ``year``) and wait until rating
        recorded it. ``employer_id`` defaults to a household unless ``company_id`` posted."""
        today = datetime.now(CHINA_TZ).date()
        end = today if year == today.year else date(year, 12, 31)
        event = EngagementFinished(
            engagement_id=str(uuid.uuid4()),
            job_id=str(uuid.uuid4()),
            worker_id=str(worker_id),
            employer_id=str(employer_id or uuid.uuid4()) if company_id is None else None,
            company_id=str(company_id) if company_id else None,
            poster_account_id=str(poster_account),
            track="housekeeping",
            start_date=end - timedelta(days=20),
            end_date=end,
            finished_at=finished_at or datetime.now(UTC),
        )
        envelope = await self.peer.publish(event)
        await self.handled(envelope, ENGAGEMENT_CONSUMER)
        async with context(self.app).db.read() as session:
            assert await session.get(FinishedEngagement, uuid.UUID(event.engagement_id))
        self.finished[uuid.UUID(event.engagement_id)] = event
        return uuid.UUID(event.engagement_id)

    async def engagement_rows(self, worker_id: uuid.UUID) -> int:
        async with context(self.app).db.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(FinishedEngagement)
                .where(FinishedEngagement.worker_id == worker_id)
            )
            return int(count or 0)

    async def review(
        self,
        account: uuid.UUID,
        worker: uuid.UUID,
        *,
        score: float = 85,
        year: int = YEAR,
        headers: Headers | None = None,
        **fields: Any,
    ) -> httpx.Response:
        """An employer review by ``account``: a finished engagement of theirs with ``worker``
        (ending in ``year``) first, then the review with every criterion at ``score``."""
        engagement = await self.finish_engagement(worker, account, year=year)
        payload: dict[str, Any] = {
            "worker_id": str(worker),
            "engagement_id": str(engagement),
            "criteria": criteria(score),
        }
        payload.update(fields)
        return await self.client.post(
            "/api/v1/ratings", json=payload, headers=dict(headers or employer(account))
        )

    async def open_year(self, year: int) -> None:
        response = await self.client.post(
            "/api/v1/assessments/years", json={"year": year}, headers=dict(officer())
        )
        assert response.status_code == 201, response.text

    async def employment(self, worker_id: uuid.UUID) -> uuid.UUID | None:
        async with context(self.app).db.read() as session:
            row = await session.get(WorkerEmployment, worker_id)
            return row.company_id if row is not None else None

    # --- HTTP --------------------------------------------------------------------------------

    async def rate(self, as_: Headers | None, worker: uuid.UUID, **fields: Any) -> httpx.Response:
        """POST a score for ``worker`` as ``as_`` (None: anonymous); ``fields`` override.

        Without ``engagement_id`` this is an evaluation (company, self); an employer's review
        goes through :meth:`review`."""
        payload: dict[str, Any] = {"worker_id": str(worker), "year": YEAR, "score": 85}
        payload.update(fields)
        return await self.client.post("/api/v1/ratings", json=payload, headers=dict(as_ or {}))

    async def get(
        self,
        path: str,
        as_: Headers | None,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Headers | None = None,
    ) -> httpx.Response:
        """GET as ``as_`` (None: anonymous), with any extra ``headers``."""
        return await self.client.get(
            path, params=params, headers={**(as_ or {}), **(headers or {})}
        )

    async def outbox_count(self) -> int:
        async with context(self.app).db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(outbox)) or 0)

    async def tap(self, subject: str = WorkerRatingChanged.subject) -> StreamTap:
        """A fresh ephemeral consumer reading the stream from its start.

        Open it just before reading: NATS drops an idle ephemeral consumer after a few seconds.
        """
        return StreamTap(await self.peer.js.pull_subscribe(subject, stream=stream_for(subject)))


def worker_registered(worker_id: uuid.UUID, **overrides: Any) -> WorkerRegistered:
    values: dict[str, Any] = {
        "worker_id": str(worker_id),
        "name": "陈秀英",
        "gender": "female",
        "birth_date": date(1978, 5, 4),
        "county": "gaoyao",
        "id_card_masked": "441202********123X",
        "phone_masked": "138****5678",
        "tracks": ["housekeeping"],
        "languages": ["cantonese"],
        "status": "registered",
        "company_id": None,
        "registered_at": datetime.now(UTC),
    }
    values.update(overrides)
    return WorkerRegistered(**values)
