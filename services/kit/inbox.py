"""Inbox consumers: apply each event exactly once, however often JetStream delivers it.

For each message the handler's effects and an inbox row keyed ``(consumer, event_id)`` commit in
one transaction, and only then is the message acked. A failure naks with a growing delay; after
``max_deliver`` attempts the event is stored in the dead-letter table (and terminated on the
stream) so later events keep flowing. Operators list and replay dead letters over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.catalog import STREAMS, parse_data
from contracts.envelope import CloudEvent, EventData
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.ids import new_id
from services.kit.logging import event_id_var
from services.kit.outbox import traceparent_var
from services.kit.tables import dead_letters, inbox
from services.kit.types import utcnow

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent[Any], EventData], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A durable pull consumer named ``<consumer-service>-<purpose>`` and its handler."""

    name: str
    subjects: Sequence[str]
    handler: Handler
    stream: str = ""

    def stream_name(self) -> str:
        if self.stream:
            return self.stream
        producer = self.subjects[0].split(".", 1)[0]
        return producer.upper()


class PoisonEvent(Exception):
    """The message can never be handled as it is (not an envelope, unknown type)."""


@dataclass
class ConsumerRunner:
    """Runs one :class:`Subscription` against the bus, writing through the inbox."""

    subscription: Subscription
    db: Database
    bus: Bus
    max_deliver: int = 5
    ack_wait: float = 30.0
    #: First nak delay; doubles each attempt, capped at ``max_nak_delay``.
    nak_delay: float = 0.5
    max_nak_delay: float = 30.0
    fetch_timeout: float = 1.0
    processed: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _stopping: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return self.subscription.name

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    def consumer_config(self) -> ConsumerConfig:
        subjects = list(self.subscription.subjects)
        return ConsumerConfig(
            durable_name=self.name,
            name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            # One more than ours, so the last attempt is ours to dead-letter, not the server's.
            max_deliver=self.max_deliver + 1,
            filter_subject=subjects[0] if len(subjects) == 1 else None,
            filter_subjects=subjects if len(subjects) > 1 else None,
            max_ack_pending=1000,
        )

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.bus.wait_connected()
                generation = self.bus.generation
                stream = self.subscription.stream_name()
                await self.bus.ensure_stream(stream, STREAMS[stream])
                await self.bus.js.add_consumer(stream, self.consumer_config())
                sub = await self.bus.js.pull_subscribe_bind(self.name, stream=stream)
                try:
                    # Re-bind whenever the connection was re-established.
                    while not self._stopping and self.bus.generation == generation:
                        try:
                            # One at a time: a pull for N lingers until N arrive or the
                            # timeout passes, which would hold a lone event back by up to
                            # fetch_timeout. A pull for one returns the moment it arrives.
                            messages = await sub.fetch(1, timeout=self.fetch_timeout)
                        except TimeoutError:
                            continue
                        for message in messages:
                            await self.handle_message(message)
                finally:
                    try:
                        await sub.unsubscribe()
                    except Exception:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopping:
                    break
                log.warning(
                    "consumer loop error; re-binding",
                    extra={"consumer": self.name, "error": repr(exc)},
                )
                await asyncio.sleep(1.0)

    async def handle_message(self, message: Msg) -> None:
        attempt = message.metadata.num_delivered or 1
        try:
            envelope, data = self._decode(message)
        except PoisonEvent as exc:
            await self._dead_letter(message, None, str(exc), attempt)
            await message.term()
            return
        token_event = event_id_var.set(envelope.id)
        token_trace = traceparent_var.set(envelope.traceparent)
        try:
            await self.apply(envelope, data)
            await message.ack()
            self.processed += 1
        except Exception as exc:
            if attempt >= self.max_deliver:
                log.error(
                    "event dead-lettered",
                    extra={"consumer": self.name, "attempts": attempt, "error": repr(exc)},
                )
                await self._dead_letter(message, envelope, repr(exc), attempt)
                await message.term()
            else:
                delay = min(self.nak_delay * 2 ** (attempt - 1), self.max_nak_delay)
                log.warning(
                    "event handling failed; will retry",
                    extra={"consumer": self.name, "attempt": attempt, "error": repr(exc)},
                )
                await message.nak(delay=delay)
        finally:
            event_id_var.reset(token_event)
            traceparent_var.reset(token_trace)

    @staticmethod
    def _decode(message: Msg) -> tuple[CloudEvent[Any], EventData]:
        try:
            envelope = CloudEvent[Any].model_validate_json(message.data)
            return envelope, parse_data(envelope)
        except (ValidationError, KeyError, ValueError) as exc:
            raise PoisonEvent(f"undecodable event: {exc}") from exc

    async def apply(self, envelope: CloudEvent[Any], data: EventData) -> bool:
        """Run the handler and record the inbox row in one transaction; False if seen before."""
        try:
            async with self.db.write() as session:
                seen = await session.scalar(
                    select(inbox.c.event_id).where(
                        inbox.c.consumer == self.name, inbox.c.event_id == envelope.id
                    )
                )
                if seen is not None:
                    return False
                await self.subscription.handler(session, envelope, data)
                await session.execute(
                    insert(inbox).values(
                        consumer=self.name,
                        event_id=envelope.id,
                        event_type=envelope.type,
                        processed_at=utcnow(),
                    )
                )
            return True
        except IntegrityError as exc:
            # A concurrent delivery of the same event committed first; ours rolled back whole.
            if await self._seen(envelope.id):
                return False
            raise exc

    async def _seen(self, event_id: str) -> bool:
        async with self.db.read() as session:
            found = await session.scalar(
                select(inbox.c.event_id).where(
                    inbox.c.consumer == self.name, inbox.c.event_id == event_id
                )
            )
        return found is not None

    async def _dead_letter(
        self, message: Msg, envelope: CloudEvent[Any] | None, error: str, attempts: int
    ) -> None:
        event_id = envelope.id if envelope else (message.headers or {}).get("Nats-Msg-Id", "")
        event_id = event_id or f"seq-{message.metadata.sequence.stream}"
        async with self.db.write() as session:
            existing = await session.scalar(
                select(dead_letters.c.id).where(
                    dead_letters.c.consumer == self.name, dead_letters.c.event_id == event_id
                )
            )
            values = {
                "subject": message.subject,
                "event_type": envelope.type if envelope else None,
                "payload": message.data.decode(errors="replace"),
                "error": error[:4000],
                "attempts": attempts,
                "failed_at": utcnow(),
                "replayed_at": None,
            }
            if existing is None:
                await session.execute(
                    insert(dead_letters).values(
                        id=str(new_id()), consumer=self.name, event_id=event_id, **values
                    )
                )
            else:
                await session.execute(
                    update(dead_letters).where(dead_letters.c.id == existing).values(**values)
                )

    async def replay(self, dead_letter_id: str) -> bool:
        """Apply a dead-lettered event now; marks it replayed. False if it was applied before."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(dead_letters).where(
                        dead_letters.c.id == dead_letter_id, dead_letters.c.consumer == self.name
                    )
                )
            ).one()
        envelope = CloudEvent[Any].model_validate_json(row.payload)
        applied = await self.apply(envelope, parse_data(envelope))
        async with self.db.write() as session:
            await session.execute(
                update(dead_letters)
                .where(dead_letters.c.id == dead_letter_id)
                .values(replayed_at=utcnow())
            )
        return applied
