"""Signed partner webhooks (Standard Webhooks): endpoints, the delivery log, the dispatcher.

A partner registers an endpoint and receives its secret (``whsec_`` + base64) once. Every
change to an application or engagement of the partner's jobs becomes a delivery row in the
same transaction as the change (so none is lost or sent for a change that rolled back). The
dispatcher POSTs due rows with the three headers of the specification:

- ``webhook-id``: the message id, the same on every retry and replay (receivers dedupe on it);
- ``webhook-timestamp``: Unix seconds of this attempt;
- ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")).

A 2xx marks the row delivered; anything else is retried after the next delay of the schedule,
and after the last one the row is ``failed``. Operators and the partner list the log and
replay a row (it goes back to pending, keeping its message id).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.ids import new_id
from services.kit.pii import PiiCipher
from services.kit.types import utcnow
from services.matching.recruitment.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

WebhookEvent = Literal[
    "application.changed", "engagement.started", "engagement.finished", "engagement.cancelled"
]
#: Delays before the 2nd, 3rd … attempt (the specification's suggested schedule).
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
_CIPHER_CONTEXT = "matching.webhook-secret"
#: A claimed row is not picked again for this long (a crashed dispatcher's rows come back).
_CLAIM_SECONDS = 60.0
#: ``session.info`` flag: this transaction queued deliveries (the dispatcher wakes for it).
WROTE_DELIVERIES = "matching.wrote_webhook_deliveries"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (used by the tests as a partner would)."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, message_id, int(timestamp), body).split(",", 1)[1]
    return any(
        hmac.compare_digest(expected, part.split(",", 1)[1])
        for part in headers.get("webhook-signature", "").split()
        if part.startswith("v1,")
    )


def encrypt_secret(cipher: PiiCipher, secret: str) -> str:
    return cipher.encrypt(secret, context=_CIPHER_CONTEXT)


def decrypt_secret(cipher: PiiCipher, token: str) -> str:
    return cipher.decrypt(token, context=_CIPHER_CONTEXT)


async def enqueue(
    session: AsyncSession, partner_id: uuid.UUID, event: str, data: dict[str, Any]
) -> int:
    """A delivery row per active endpoint of ``partner_id`` taking ``event``; the count."""
    endpoints = (
        await session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.partner_id == partner_id, WebhookEndpoint.active
            )
        )
    ).all()
    now = utcnow()
    count = 0
    for endpoint in endpoints:
        if event not in endpoint.event_types:
            continue
        message_id = f"msg_{new_id().hex}"
        body = {"type": event, "timestamp": now.isoformat(), "data": data}
        session.add(
            WebhookDelivery(
                id=new_id(),
                endpoint_id=endpoint.id,
                message_id=message_id,
                event_type=event,
                payload=orjson.dumps(body).decode(),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        count += 1
    if count:
        session.info[WROTE_DELIVERIES] = True
    return count


class Dispatcher:
    """Delivers due webhook rows; any number of replicas may run (rows are claimed)."""

    def __init__(
        self,
        db: Database,
        cipher: PiiCipher | None,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        poll_interval: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.retry_delays = tuple(retry_delays)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def wake(self, session: object = None, *_: object) -> None:
        """Wake now (``db.on_commit``: only for transactions that queued deliveries)."""
        info = getattr(session, "info", None)
        if isinstance(info, dict) and not info.get(WROTE_DELIVERIES):
            return
        self._wake.set()

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="matching-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database outage: try again after the interval
                log.exception("webhook dispatch failed")
                sent = 0
            if sent:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def deliver_due(self, batch: int = 20) -> int:
        """Claim and attempt up to ``batch`` due rows; the number attempted."""
        if self.cipher is None:
            return 0
        now = utcnow()
        async with self.db.write() as session:
            rows = (
                await session.execute(
                    select(WebhookDelivery, WebhookEndpoint)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(
                        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True, of=WebhookDelivery)
                )
            ).all()
            claimed = [(d.id, d.message_id, d.payload, e.url, e.secret_encrypted) for d, e in rows]
            if claimed:
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_([c[0] for c in claimed]))
                    .values(next_attempt_at=now + timedelta(seconds=_CLAIM_SECONDS))
                )
        results = await asyncio.gather(*(self._attempt(*c) for c in claimed))
        for (delivery_id, *_), (code, error) in zip(claimed, results, strict=True):
            await self._record(delivery_id, code, error)
        return len(claimed)

    async def _attempt(
        self, delivery_id: uuid.UUID, message_id: str, payload: str, url: str, secret_token: str
    ) -> tuple[int | None, str | None]:
        assert self.cipher is not None and self._client is not None
        body = payload.encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                decrypt_secret(self.cipher, secret_token), message_id, timestamp, body
            ),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def _record(self, delivery_id: uuid.UUID, code: int | None, error: str | None) -> None:
        now = utcnow()
        async with self.db.write() as session:
            delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = code
            delivery.last_error = error
            if error is None:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                    "delivered",
                    now,
                    None,
                )
            elif delivery.attempts > len(self.retry_delays):
                delivery.status, delivery.next_attempt_at = "failed", None
            else:
                delay = self.retry_delays[delivery.attempts - 1]
                delivery.next_attempt_at = now + timedelta(seconds=delay)


def replay(delivery: WebhookDelivery, now: datetime) -> None:
    """Send a delivered or failed message again (same webhook-id): a new round of attempts."""
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.attempts = 0
