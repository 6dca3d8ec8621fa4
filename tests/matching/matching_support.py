"""Helpers for the matching tests: upstream event builders and a harness around the app."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError
from sqlalchemy import select

from contracts.catalog import STREAMS, model_for, stream_for
from contracts.credit import CertificateIssued
from contracts.envelope import CloudEvent, EventData, envelope_for
from contracts.rating import WorkerRatingChanged
from contracts.registry import ConsentChanged, WorkerRegistered, WorkerStatusChanged, WorkerUpdated
from services.kit.tables import inbox
from services.matching.handlers import SUBSCRIPTIONS
from tests.support.apps import context, eventually
from tests.support.tokens import bearer

#: Which durable consumer of matching applies each subject (from the app's own subscriptions).
CONSUMERS: dict[str, str] = {
    subject: subscription.name
    for subscription in SUBSCRIPTIONS
    for subject in subscription.subjects
}

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
_numbers = itertools.count(1)


def at(minutes: int) -> datetime:
    """A producer timestamp ``minutes`` after a fixed origin, for ordering tests."""
    return T0 + timedelta(minutes=minutes)


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
        "registered_at": at(0),
    }
    values.update(overrides)
    return WorkerRegistered(**values)


def worker_updated(worker_id: uuid.UUID, **overrides: Any) -> WorkerUpdated:
    values: dict[str, Any] = {
        "worker_id": str(worker_id),
        "name": "陈秀英",
        "county": "gaoyao",
        "tracks": ["housekeeping"],
        "languages": ["cantonese"],
        "education": None,
        "target_groups": [],
        "health_check_valid_until": None,
        "no_criminal_record_valid_until": None,
        "updated_at": at(10),
    }
    values.update(overrides)
    return WorkerUpdated(**values)


def certificate_issued(worker_id: uuid.UUID, **overrides: Any) -> CertificateIssued:
    values: dict[str, Any] = {
        "certificate_id": str(uuid.uuid4()),
        "certificate_number": f"ZQJS-2026-{next(_numbers):06d}",
        "kind": "training",
        "worker_id": str(worker_id),
        "track": "housekeeping",
        "course_id": None,
        "enrollment_id": None,
        "issued_at": at(5),
        "valid_until": None,
    }
    values.update(overrides)
    return CertificateIssued(**values)


def rating_changed(worker_id: uuid.UUID, stars: int, **overrides: Any) -> WorkerRatingChanged:
    values: dict[str, Any] = {
        "worker_id": str(worker_id),
        "year": 2026,
        "stars": stars,
        "previous_stars": None,
        "score": {1: 50.0, 2: 65.0, 3: 75.0, 4: 85.0, 5: 95.0}[stars],
        "changed_at": at(20),
    }
    values.update(overrides)
    return WorkerRatingChanged(**values)


def status_changed(
    worker_id: uuid.UUID, to_status: str, minute: int, from_status: str = "active"
) -> WorkerStatusChanged:
    return WorkerStatusChanged(
        worker_id=str(worker_id),
        from_status=from_status,  # type: ignore[arg-type]
        to_status=to_status,  # type: ignore[arg-type]
        changed_by="system",
        reason="test",
        changed_at=at(minute),
    )


def consent_granted(worker_id: uuid.UUID, recipient: uuid.UUID, **overrides: Any) -> ConsentChanged:
    values: dict[str, Any] = {
        "consent_id": str(uuid.uuid4()),
        "worker_id": str(worker_id),
        "scope": "credit_data",
        "recipient": str(recipient),
        "granted": True,
        "expires_at": None,
        "changed_at": at(3),
    }
    values.update(overrides)
    return ConsentChanged(**values)


async def ensure_stream(js: JetStreamContext, name: str) -> None:
    config = StreamConfig(
        name=name, subjects=STREAMS[name], storage=StorageType.FILE, duplicate_window=120.0
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def publish_envelope(
    js: JetStreamContext, envelope: CloudEvent[Any], subject: str, *, msg_id: str | None = None
) -> None:
    """Publish as a relay would; a different ``msg_id`` slips past JetStream's dedup window."""
    await ensure_stream(js, stream_for(subject))
    await js.publish(
        subject, envelope.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or envelope.id}
    )


@dataclass
class MatchingHarness:
    app: FastAPI
    client: httpx.AsyncClient
    js: JetStreamContext

    async def publish(self, data: EventData) -> CloudEvent[Any]:
        envelope = envelope_for(data)
        await publish_envelope(self.js, envelope, data.subject)
        return envelope

    async def republish(self, envelope: CloudEvent[Any], subject: str) -> None:
        """Deliver the very same event again, as a redelivery after the dedup window would."""
        await publish_envelope(self.js, envelope, subject, msg_id=str(uuid.uuid4()))

    async def applied(self, envelope: CloudEvent[Any]) -> bool:
        """True once matching committed the event (its inbox row commits with the effects)."""
        consumer = CONSUMERS[_subject_of(envelope)]
        async with context(self.app).db.read() as session:
            found = await session.scalar(
                select(inbox.c.event_id).where(
                    inbox.c.consumer == consumer, inbox.c.event_id == envelope.id
                )
            )
        return found is not None

    async def settle(self, *envelopes: CloudEvent[Any]) -> None:
        for envelope in envelopes:

            async def done(envelope: CloudEvent[Any] = envelope) -> bool:
                return await self.applied(envelope)

            await eventually(done)

    async def send(self, *events: EventData) -> list[CloudEvent[Any]]:
        """Publish events in order and wait until matching has applied all of them."""
        envelopes = [await self.publish(data) for data in events]
        await self.settle(*envelopes)
        return envelopes

    async def handled(self, consumer: str, count: int) -> None:
        """Wait until ``consumer`` has acked ``count`` messages (duplicates included)."""
        runner = context(self.app).runners[consumer]

        async def enough() -> bool:
            return runner.processed >= count

        await eventually(enough)

    async def get(
        self, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """GET as an officer (any caller who may see every candidate) unless told otherwise."""
        return await self.client.get(
            path, headers={**bearer("officer"), **(headers or {})}, **kwargs
        )

    async def candidate(self, worker_id: uuid.UUID) -> dict[str, Any] | None:
        response = await self.get(f"/api/v1/candidates/{worker_id}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def page(self, track: str, **params: Any) -> dict[str, Any]:
        response = await self.get("/api/v1/candidates", params={"track": track, **params})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def ids(self, track: str, **params: Any) -> list[str]:
        return [item["worker_id"] for item in (await self.page(track, **params))["items"]]

    async def walk(self, track: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        """Every candidate, page by page, following next_cursor to the end."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            extra = {"cursor": cursor} if cursor else {}
            page = await self.page(track, limit=limit, **params, **extra)
            assert len(page["items"]) <= limit
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


def _subject_of(envelope: CloudEvent[Any]) -> str:
    return model_for(envelope.type).subject
