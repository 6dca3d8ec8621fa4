"""Inbox consumers: apply each event exactly once, however often JetStream delivers it.

A runner pulls up to ``batch_size`` messages, runs the handler for each and writes their inbox
rows keyed ``(consumer, event_id)`` in ONE transaction, and acks them after it commits. If a
handler fails, the batch rolls back whole and its messages are handled one at a time, each in
its own transaction, so only the failing event is retried (nak with a growing delay) and, after
``max_deliver`` failures of its own, stored in the dead-letter table and terminated on the
stream. Operators list and replay dead letters over HTTP. A subscription may also give a
``batch_handler`` that applies a whole batch with set-based statements (it must leave what the
one-event handler leaves for each event in turn); the one-at-a-time retry goes through it too.
A ``transaction_handler`` is tried first: the claim and the handler run in
``Database.transaction()`` on the plain driver; events it refuses (``NeedsSession``) or a
constraint it trips roll back whole and go through the session handlers.

**Outages spend no attempts.** A failure because the database (or its connection) is
unavailable is not the event's fault: the runner keeps its messages in progress
(``in_progress()`` restarts ``ack_wait``) and retries with backoff until the database is back,
so JetStream never counts a delivery for it. A failure is an outage when its type says so
(SQLAlchemy ``OperationalError``/``InterfaceError``/disconnects, asyncpg connection errors,
``OSError``) or when the database does not answer a ping right after it. A dead letter is
written before the event is terminated, and the consumer lets the server redeliver without
limit, so JetStream never drops an event on its own: if writing the dead letter fails, the
message is still ours. A failed ``ack()`` after the commit is only logged: the inbox row makes
the redelivery a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
from services.kit.inbox_claims import claim, claim_in
from services.kit.logging import event_id_var
from services.kit.memo import EVENT_MEMO
from services.kit.outages import is_outage
from services.kit.pull import pull
from services.kit.subscriptions import NeedsSession, Subscription, TransactionHandler
from services.kit.tables import dead_letters, inbox
from services.kit.tracing import traceparent_var
from services.kit.transactions import is_integrity_error
from services.kit.types import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")


class PoisonEvent(Exception):
    """The message can never be handled as it is (not an envelope, unknown type)."""


@contextmanager
def _event_context(envelope: CloudEvent[Any]) -> Iterator[None]:
    """The event's id and trace on the log lines and events written while it is applied."""
    token_event = event_id_var.set(envelope.id)
    token_trace = traceparent_var.set(envelope.traceparent)
    try:
        yield
    finally:
        event_id_var.reset(token_event)
        traceparent_var.reset(token_trace)


@dataclass
class ConsumerRunner:
    """Runs one :class:`Subscription` against the bus, writing through the inbox."""

    subscription: Subscription
    db: Database
    bus: Bus
    max_deliver: int = 5
    ack_wait: float = 30.0
    #: First nak delay after a handler failure; times ``nak_factor`` each attempt, capped at
    #: ``max_nak_delay``: 1, 4, 16, 64 s spread five attempts over ~1.5 minutes, long enough
    #: for another service's event this one depends on to arrive.
    nak_delay: float = 1.0
    nak_factor: float = 4.0
    max_nak_delay: float = 300.0
    #: Retry delays while the database is unavailable (doubling up to the max).
    outage_delay: float = 0.2
    max_outage_delay: float = 5.0
    #: Events per transaction at most. On the drain bench (10,000 queued chains, PostgreSQL)
    #: 100 gave ~917 chains/s, 200 ~1,100, 300 ~1,025; larger batches also hold SQLite's
    #: single write lock longer.
    batch_size: int = 200
    fetch_timeout: float = 1.0
    processed: int = 0
    #: Times the runner waited for the database to come back (operators and tests read it).
    outage_waits: int = 0
    #: Transactions that applied more than one event.
    batch_commits: int = 0
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
            # Unlimited: we count the handler's failures and terminate after the dead letter
            # is stored; a server-side limit could drop an event we failed to record.
            max_deliver=-1,
            filter_subject=subjects[0] if len(subjects) == 1 else None,
            filter_subjects=subjects if len(subjects) > 1 else None,
            max_ack_pending=max(1000, self.batch_size * 4),
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
                            messages = await self._pull(sub)
                        except TimeoutError:
                            continue
                        await self.handle_batch(messages)
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

    async def _pull(self, sub: Any) -> list[Msg]:
        """Up to ``batch_size`` messages: the first to arrive, with whatever else is pending
        (:func:`services.kit.pull.pull`: an event on a quiet stream is not held back, a
        backlog comes in full batches)."""
        return await pull(sub, self.batch_size, self.fetch_timeout, self.subscription.linger)

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Apply ``messages`` in one transaction; isolate them one by one if a handler fails."""
        if len(messages) == 1:
            await self.handle_message(messages[0])
            return
        decoded: list[tuple[Msg, CloudEvent[Any], EventData]] = []
        for message in messages:
            try:
                envelope, data = self._decode(message)
            except PoisonEvent:
                await self.handle_message(message)  # dead-letters it on its own
                continue
            decoded.append((message, envelope, data))
        if not decoded:
            return
        try:
            await self._through_outages(
                lambda: self.apply_many([(e, d) for _, e, d in decoded]),
                [m for m, _, _ in decoded],
            )
        except Exception as exc:
            log.info(
                "batch failed; handling its events one at a time",
                extra={"consumer": self.name, "error": repr(exc)},
            )
            for message, _, _ in decoded:
                await self.handle_message(message)
            return
        self.batch_commits += 1
        for message, _, _ in decoded:
            await self._ack(message)
        self.processed += len(decoded)

    async def handle_message(self, message: Msg) -> None:
        attempt = message.metadata.num_delivered or 1
        try:
            envelope, data = self._decode(message)
        except PoisonEvent as exc:
            reason = str(exc)
            await self._through_outages(
                lambda: self._dead_letter(message, None, reason, attempt), [message]
            )
            await self._settle(message.term(), "term")
            return
        with _event_context(envelope):
            try:
                await self._through_outages(lambda: self.apply(envelope, data), [message])
            except Exception as exc:
                await self._handler_failed(message, envelope, exc, attempt)
                return
            await self._ack(message)
            self.processed += 1

    async def _handler_failed(
        self, message: Msg, envelope: CloudEvent[Any], exc: Exception, attempt: int
    ) -> None:
        if attempt >= self.max_deliver:
            log.error(
                "event dead-lettered",
                extra={"consumer": self.name, "attempts": attempt, "error": repr(exc)},
            )
            # Stored first, terminated after: until then the server still redelivers it.
            await self._through_outages(
                lambda: self._dead_letter(message, envelope, repr(exc), attempt), [message]
            )
            await self._settle(message.term(), "term")
            return
        delay = min(self.nak_delay * self.nak_factor ** (attempt - 1), self.max_nak_delay)
        log.warning(
            "event handling failed; will retry",
            extra={"consumer": self.name, "attempt": attempt, "error": repr(exc)},
        )
        await self._settle(message.nak(delay=delay), "nak")

    async def _through_outages(
        self, operation: Callable[[], Awaitable[T]], messages: Sequence[Msg]
    ) -> T:
        """Run ``operation``; while the database is unavailable, hold ``messages`` and retry.

        Raises only what is not an outage: the handler's own failures.
        """
        delay = self.outage_delay
        while True:
            try:
                return await operation()
            except Exception as exc:
                if not (is_outage(exc) or not await self._database_answers()):
                    raise
                self.outage_waits += 1
                log.warning(
                    "database unavailable; holding events and retrying",
                    extra={"consumer": self.name, "error": repr(exc), "retry_s": delay},
                )
            # Keep them ours while we wait: no redelivery, so no delivery attempt is spent.
            for message in messages:
                await self._settle(message.in_progress(), "in_progress")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_outage_delay, self.ack_wait / 3)

    async def _database_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.db.ping(), 5)
            return True
        except Exception:
            return False

    async def _ack(self, message: Msg) -> None:
        # The effects are committed: a lost ack only means a redelivery the inbox ignores.
        await self._settle(message.ack(), "ack")

    async def _settle(self, call: Awaitable[None], what: str) -> None:
        try:
            await call
        except Exception as exc:
            log.warning(
                f"could not {what} a message; the server will redeliver it",
                extra={"consumer": self.name, "error": repr(exc)},
            )

    @staticmethod
    def _decode(message: Msg) -> tuple[CloudEvent[Any], EventData]:
        try:
            envelope = CloudEvent[Any].model_validate_json(message.data)
            return envelope, parse_data(envelope)
        except (ValidationError, KeyError, ValueError) as exc:
            raise PoisonEvent(f"undecodable event: {exc}") from exc

    async def apply(self, envelope: CloudEvent[Any], data: EventData) -> bool:
        """Run the handler and record the inbox row in one transaction; False if seen before."""
        return bool(await self.apply_many([(envelope, data)]))

    async def apply_many(self, events: Sequence[tuple[CloudEvent[Any], EventData]]) -> int:
        """Apply the unseen ones of ``events`` and their inbox rows in one transaction.

        Returns how many were applied (a redelivered or twice-published event is skipped).
        """
        ids = sorted({envelope.id for envelope, _ in events})
        if self.subscription.transaction_handler is not None:
            try:
                return await self._apply_in_transaction(
                    self.subscription.transaction_handler, events, ids
                )
            except NeedsSession:
                pass  # rolled back: the session path below applies them
            except Exception as exc:
                if not is_integrity_error(exc):
                    raise
        try:
            async with self.db.write() as session:
                session.info[EVENT_MEMO] = {}  # policies are read once per batch
                fresh = self._unseen(events, await claim(session, self.name, events, ids))
                await self._handle(session, fresh)
            return len(fresh)
        except IntegrityError as exc:
            # Not the inbox (its conflicts are skipped): a handler's own constraint. With one
            # event that was seen meanwhile, a concurrent delivery did the work.
            if len(ids) == 1 and await self._seen(ids[0]):
                return 0
            raise exc

    async def _apply_in_transaction(
        self,
        handler: TransactionHandler,
        events: Sequence[tuple[CloudEvent[Any], EventData]],
        ids: Sequence[str],
    ) -> int:
        async with self.db.transaction() as tx:
            fresh = self._unseen(events, await claim_in(tx, self.name, events, ids))
            if fresh:
                await handler(tx, fresh)
        return len(fresh)

    @staticmethod
    def _unseen(
        events: Sequence[tuple[CloudEvent[Any], EventData]], claimed: set[str]
    ) -> list[tuple[CloudEvent[Any], EventData]]:
        """``events`` whose ids were ``claimed`` now, in order; a twice-delivered one once."""
        fresh: list[tuple[CloudEvent[Any], EventData]] = []
        for envelope, data in events:
            if envelope.id in claimed:
                claimed.discard(envelope.id)
                fresh.append((envelope, data))
        return fresh

    async def _handle(
        self, session: AsyncSession, events: Sequence[tuple[CloudEvent[Any], EventData]]
    ) -> None:
        batch_handler = self.subscription.batch_handler
        if batch_handler is not None and len(events) > 1:
            await batch_handler(session, events)
            return
        for envelope, data in events:
            with _event_context(envelope):
                if batch_handler is not None:
                    await batch_handler(session, [(envelope, data)])
                else:
                    await self.subscription.handler(session, envelope, data)

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
