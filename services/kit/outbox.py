"""Transactional outbox: events commit with the state change; a relay publishes them.

``publish(session, data)`` only inserts a row in the caller's transaction, so a rolled-back
operation publishes nothing and a committed one cannot lose its event; ``publish_many`` does
the same for many events in one multi-row INSERT. The :class:`Relay` publishes pending rows in
commit order with ``Nats-Msg-Id`` = event id (JetStream drops a republished duplicate), marks
them sent, and backs off while NATS is down.

Several replicas may run a relay: a lease row elects one publisher at a time, which keeps
per-aggregate (indeed global) order; if a lease lapses mid-batch the next holder may republish a
few rows, and the msg id makes that harmless.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData, envelope_for
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.tables import outbox, relay_lease
from services.kit.types import utcnow

log = logging.getLogger(__name__)

#: W3C trace context of the request or event being handled; new events inherit it.
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)

LEASE_NAME = "outbox"


def _outbox_row(data: EventData, traceparent: str | None) -> tuple[CloudEvent[Any], dict[str, Any]]:
    """A fresh envelope for ``data`` and the outbox row that records it."""
    envelope = envelope_for(data, traceparent=traceparent)
    row = {
        "event_id": envelope.id,
        "subject": data.subject,
        "event_type": envelope.type,
        "aggregate_id": envelope.subject,
        "payload": envelope.model_dump_json(),
        "created_at": utcnow(),
        "attempts": 0,
    }
    return envelope, row


async def publish(session: AsyncSession, data: EventData) -> CloudEvent[Any]:
    """Record ``data`` as an event of the current transaction; returns its envelope."""
    envelope, row = _outbox_row(data, traceparent_var.get())
    await session.execute(insert(outbox).values(**row))
    return envelope


async def publish_many(session: AsyncSession, datas: Iterable[EventData]) -> list[CloudEvent[Any]]:
    """:func:`publish` for many events in one multi-row INSERT; returns their envelopes.

    The rows are inserted in the order given, so the relay publishes them in that order
    (events about one aggregate keep theirs).
    """
    traceparent = traceparent_var.get()
    built = [_outbox_row(data, traceparent) for data in datas]
    if built:
        await session.execute(insert(outbox), [row for _, row in built])
    return [envelope for envelope, _ in built]


class Relay:
    """Publishes pending outbox rows; wake it after a commit for prompt delivery."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        lease_seconds: float = 10.0,
        max_backoff: float = 10.0,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.max_backoff = max_backoff
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published_total = 0
        self._lease_until = 0.0

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        await self._release_lease()

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping:
            if backoff:
                await self._sleep(backoff)
            else:
                await self._sleep(self.poll_interval)
            if self._stopping:
                break
            try:
                while not self._stopping and await self.publish_pending() == self.batch_size:
                    pass  # a full batch means there may be more; keep going without sleeping
                backoff = 0.0
            except Exception as exc:
                backoff = min(max(backoff * 2, 0.1), self.max_backoff)
                log.warning(
                    "outbox relay failed; backing off",
                    extra={"error": repr(exc), "backoff_s": backoff},
                )

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def publish_pending(self) -> int:
        """One pass: publish up to a batch of pending rows in order. Returns rows published."""
        if not await self._hold_lease():
            return 0
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.payload)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        sent: list[int] = []
        failure: tuple[int, str] | None = None
        for row in rows:
            try:
                await self.bus.publish(row.subject, row.payload.encode(), msg_id=row.event_id)
            except Exception as exc:
                # Stop at the first failure: publishing later rows would break their order.
                failure = (row.seq, repr(exc))
                break
            sent.append(row.seq)
        await self._mark(sent, failure)
        self.published_total += len(sent)
        if failure is not None:
            raise ConnectionError(f"publish failed: {failure[1]}")
        return len(sent)

    async def _mark(self, sent: list[int], failure: tuple[int, str] | None) -> None:
        if not sent and failure is None:
            return
        async with self.db.write() as session:
            if sent:
                await session.execute(
                    update(outbox).where(outbox.c.seq.in_(sent)).values(published_at=utcnow())
                )
            if failure is not None:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq == failure[0])
                    .values(attempts=outbox.c.attempts + 1, last_error=failure[1][:2000])
                )

    async def _hold_lease(self) -> bool:
        """Take or renew the relay lease; False when another live relay holds it."""
        now = time.time()
        if self._lease_until - now > self.lease_seconds / 2:
            return True  # still ours for a while: spare the database a write per pass
        acquired = await self._take_lease(now)
        self._lease_until = now + self.lease_seconds if acquired else 0.0
        return acquired

    async def _take_lease(self, now: float) -> bool:
        async with self.db.write() as session:
            result = await session.execute(
                update(relay_lease)
                .where(relay_lease.c.name == LEASE_NAME)
                .where((relay_lease.c.holder == self.holder) | (relay_lease.c.expires_at < now))
                .values(holder=self.holder, expires_at=now + self.lease_seconds)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return True
            exists = await session.scalar(
                select(relay_lease.c.name).where(relay_lease.c.name == LEASE_NAME)
            )
            if exists is not None:
                return False
        try:
            async with self.db.write() as session:
                await session.execute(
                    insert(relay_lease).values(
                        name=LEASE_NAME, holder=self.holder, expires_at=now + self.lease_seconds
                    )
                )
            return True
        except IntegrityError:
            return False  # another relay inserted it first

    async def _release_lease(self) -> None:
        self._lease_until = 0.0
        try:
            async with self.db.write() as session:
                await session.execute(
                    update(relay_lease)
                    .where(relay_lease.c.name == LEASE_NAME)
                    .where(relay_lease.c.holder == self.holder)
                    .values(expires_at=0.0)
                )
        except Exception as exc:
            log.debug("could not release relay lease", extra={"error": repr(exc)})
