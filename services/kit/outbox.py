"""Transactional outbox: events commit with the state change; a relay publishes them.

``publish(session, data)`` only inserts a row in the caller's transaction, so a rolled-back
operation publishes nothing and a committed one cannot lose its event; ``publish_many`` does
the same for many events in one multi-row INSERT. The :class:`Relay` publishes pending rows with
``Nats-Msg-Id`` = event id (JetStream drops a republished duplicate), marks them sent, and backs
off while NATS is down. Only commits that wrote outbox rows wake it (``session.info`` says so).

**Order.** Guaranteed: the events of one aggregate reach the stream in the order their
transactions committed, provided those transactions are serialised on the aggregate (they
update its row, or SQLite's single writer serialises everything), so the later one's row gets
the higher ``seq``. *Not* guaranteed: a global order across aggregates. PostgreSQL hands out
``seq`` at INSERT, not at COMMIT, so two unrelated transactions may become visible out of
``seq`` order; the relay then publishes the later-committed one first and picks the other up on
its next pass (nothing is skipped: it reads every unsent row, not "rows after the last seq").

Per pass the relay reads a batch in ``seq`` order and publishes it in *waves*: the first
pending row of every aggregate, pipelined, acks awaited together; then the second of each, and
so on. A row that fails holds back only the later rows of its own aggregate. A row the server
can never take (over ``max_payload``, or refused by JetStream ``park_after`` times) is *parked*:
``parked_at`` and ``last_error`` are set, it is logged as an error, and its aggregate waits
until an operator clears ``parked_at`` (:meth:`Relay.unpark`); every other aggregate carries on.

**Cost per pass.** The pending rows are read with one autocommit statement
(:class:`~services.kit.reads.ReadQuery`, no session). While the relay runs on its own, the rows
it published are marked sent together, once ``mark_delay`` has passed or half a batch is
waiting, instead of in a write transaction per pass. Until marked, a row is kept out of the
next passes by its ``seq``; a crash before the mark republishes it, which the msg id again
makes harmless.

Several replicas may run a relay: a lease (:mod:`services.kit.relay_lease`, the database's
clock) elects one publisher at a time; if a lease lapses mid-batch the next holder may
republish a few rows, and the msg id makes that harmless.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nats.errors import MaxPayloadError
from nats.js.errors import APIError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData, envelope_for
from services.kit import feed
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.dialect import per_dialect
from services.kit.one_of import one_of_param
from services.kit.reads import ReadQuery
from services.kit.relay_lease import Lease
from services.kit.retention import Retention
from services.kit.statements import Statement
from services.kit.tables import outbox
from services.kit.tracing import traceparent_var
from services.kit.transactions import SessionTransaction, Transaction
from services.kit.types import utcnow

log = logging.getLogger(__name__)

__all__ = ["Relay", "publish", "publish_many", "traceparent_var"]

LEASE_NAME = "outbox"
#: ``session.info`` key set by :func:`publish`: this transaction wrote outbox rows.
WROTE_OUTBOX = "kit_outbox_written"
#: JetStream's error code for a message larger than the stream or server accepts.
_MESSAGE_TOO_LARGE = 10054


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


#: Built once and reused (``insert(outbox).values(**row)`` per event cost ~80 µs to coerce the
#: values and compute the cache key), every column named, so a plain-driver transaction
#: leaves nothing to the engine's defaults.
_EVENT_COLUMNS = ("event_id", "subject", "event_type", "aggregate_id", "payload", "created_at")
_INSERT_EVENT = Statement(
    insert(outbox).values(
        {**{name: bindparam(name) for name in _EVENT_COLUMNS}, "attempts": bindparam("attempts")}
    )
)
_INSERT_FEED_ROW = Statement(
    insert(feed.feed_log).values({name: bindparam(name) for name in feed.ROW_COLUMNS})
)


async def publish(session: AsyncSession, data: EventData) -> CloudEvent[Any]:
    """Record ``data`` as an event of the current transaction; returns its envelope."""
    return await publish_in(SessionTransaction(session), data)


async def publish_in(tx: Transaction, data: EventData) -> CloudEvent[Any]:
    """:func:`publish` in a :class:`~services.kit.transactions.Transaction`."""
    envelope, row = _outbox_row(data, traceparent_var.get())
    await tx.execute(_INSERT_EVENT, **row)
    tx.info[WROTE_OUTBOX] = True
    if feed.feeds_event(envelope.type):
        await tx.execute_many(_INSERT_FEED_ROW, _feed_rows([envelope]))
    return envelope


def _feed_rows(envelopes: Iterable[CloudEvent[Any]]) -> list[dict[str, Any]]:
    """Change-feed rows of the events that feed a dataset (:mod:`services.kit.feed`)."""
    rows: list[dict[str, Any]] = []
    for envelope in envelopes:
        if feed.feeds_event(envelope.type):
            data = envelope.data
            if not isinstance(data, dict):
                data = data.model_dump(mode="json")
            rows.extend(feed.rows_for(envelope.type, envelope.id, data))
    return rows


async def publish_many(session: AsyncSession, datas: Iterable[EventData]) -> list[CloudEvent[Any]]:
    """:func:`publish` for many events in one multi-row INSERT; returns their envelopes.

    The rows are inserted in the order given, so the relay publishes them in that order
    (events about one aggregate keep theirs).
    """
    return await publish_many_in(SessionTransaction(session), datas)


async def publish_many_in(tx: Transaction, datas: Iterable[EventData]) -> list[CloudEvent[Any]]:
    """:func:`publish_many` in a :class:`~services.kit.transactions.Transaction`."""
    traceparent = traceparent_var.get()
    built = [_outbox_row(data, traceparent) for data in datas]
    if built:
        await tx.execute_many(_INSERT_EVENT, [row for _, row in built])
        tx.info[WROTE_OUTBOX] = True
        await tx.execute_many(_INSERT_FEED_ROW, _feed_rows(envelope for envelope, _ in built))
    return [envelope for envelope, _ in built]


@dataclass(frozen=True)
class _Failure:
    """A row JetStream refused; ``park`` once it can never be published as it is."""

    seq: int
    event_id: str
    error: str
    park: bool


def _row_specific(exc: BaseException) -> tuple[bool, bool]:
    """(the row's own fault, never publishable); anything else is NATS being unavailable."""
    if isinstance(exc, MaxPayloadError):
        return True, True
    if isinstance(exc, APIError) and exc.code != 503:  # 503: JetStream not ready, transient
        return True, exc.err_code == _MESSAGE_TOO_LARGE
    return False, False


class Relay:
    """Publishes pending outbox rows; wake it after a commit for prompt delivery."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        lease_seconds: float = 10.0,
        max_backoff: float = 10.0,
        holder: str | None = None,
        park_after: int = 10,
        retention: Retention | None = None,
        mark_delay: float = 0.05,
    ) -> None:
        self.db = db
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        #: Refusals by JetStream after which a row is parked (a too-large one parks at once).
        self.park_after = park_after
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.lease = Lease(db, LEASE_NAME, self.holder, lease_seconds)
        # The lease holder also deletes old sent rows and inbox rows, so one replica does it.
        self.retention = retention or Retention(db)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._more = False
        self.published_total = 0
        self.parked_total = 0
        #: Published rows not yet marked sent (seq order of publishing), and when to mark them.
        self.mark_delay = mark_delay
        self._unmarked: list[int] = []
        self._mark_due = 0.0
        self._pending_query = _pending_query(batch_size)

    @property
    def published_unmarked(self) -> tuple[int, ...]:
        """Seqs of rows published and not yet marked sent (marked within ``mark_delay``)."""
        return tuple(self._unmarked)

    def wake(self, session: object = None, *_: object) -> None:
        """``db.on_commit`` callback: wake only for transactions that wrote outbox rows.

        Waking on every commit would make a standby, whose lease attempts are commits too,
        wake itself in a loop.
        """
        info = getattr(session, "info", None)
        if isinstance(info, dict) and not info.get(WROTE_OUTBOX):
            return
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
        try:
            await self._mark_unmarked()
        except Exception as exc:  # they are republished (and deduplicated) by the next holder
            log.warning("could not mark published outbox rows", extra={"error": repr(exc)})
        await self._release_lease()

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping:
            await self._sleep(backoff or self._idle_wait())
            if self._stopping:
                break
            try:
                await self._pass(defer_marks=True)
                while not self._stopping and self._more:
                    await self._pass(defer_marks=True)  # a full batch: maybe more, no sleep
                backoff = 0.0
            except Exception as exc:
                backoff = min(max(backoff * 2, 0.1), self.max_backoff)
                log.warning(
                    "outbox relay failed; backing off",
                    extra={"error": repr(exc), "backoff_s": backoff},
                )
            await self._purge_if_due()

    def _idle_wait(self) -> float:
        if not self._unmarked:
            return self.poll_interval
        return max(0.0, min(self.poll_interval, self._mark_due - time.monotonic()))

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def _purge_if_due(self) -> None:
        if not self.lease.held or not self.retention.due():
            return
        try:
            await self.retention.purge()
        except Exception as exc:
            log.warning("event retention purge failed", extra={"error": repr(exc)})

    async def publish_pending(self) -> int:
        """One pass: publish up to a batch of pending rows and mark them sent. Returns rows
        published."""
        return await self._pass(defer_marks=False)

    async def _pass(self, *, defer_marks: bool) -> int:
        self._more = False
        if self._unmarked and (
            not defer_marks
            or len(self._unmarked) >= self.batch_size // 2
            or time.monotonic() >= self._mark_due
        ):
            await self._mark_unmarked()
        if not await self.lease.hold():
            return 0
        rows, full = await self._pending()
        if not rows:
            return 0
        sent, failures, unavailable = await self._publish(rows)
        self.published_total += len(sent)
        if sent and not self._unmarked:
            self._mark_due = time.monotonic() + self.mark_delay
        self._unmarked.extend(sent)
        if failures or not defer_marks:
            await self._mark_unmarked(failures)
        if unavailable is not None:
            raise ConnectionError(f"publish failed: {unavailable}")
        self._more = full and bool(sent)
        return len(sent)

    async def _pending(self) -> tuple[list[Any], bool]:
        """Unsent rows in ``seq`` order, except those published and not yet marked; and
        whether the read was a full batch (there may be more)."""
        rows = await self.db.fetch_all(self._pending_query)
        full = len(rows) == self.batch_size
        if self._unmarked:
            in_flight = set(self._unmarked)
            rows = [row for row in rows if row.seq not in in_flight]
        return rows, full

    async def _publish(self, rows: list[Any]) -> tuple[list[int], list[_Failure], str | None]:
        """Publish ``rows`` in waves (n-th row of each aggregate); (sent, refused, outage)."""
        waves: list[list[Any]] = []
        depth: dict[str, int] = {}
        for row in rows:
            level = depth.get(row.aggregate_id, 0)
            depth[row.aggregate_id] = level + 1
            if level == len(waves):
                waves.append([])
            waves[level].append(row)
        blocked: set[str] = set()
        sent: list[int] = []
        failures: list[_Failure] = []
        for wave in waves:
            wave = [row for row in wave if row.aggregate_id not in blocked]
            if not wave:
                continue
            results = await self.bus.publish_batch(
                [(row.subject, row.payload.encode(), row.event_id) for row in wave]
            )
            unavailable: str | None = None
            for row, result in zip(wave, results, strict=True):
                if not isinstance(result, Exception):
                    sent.append(row.seq)
                    continue
                # Later rows of this aggregate must wait, or they would overtake this one.
                blocked.add(row.aggregate_id)
                own_fault, never = _row_specific(result)
                if own_fault:
                    park = never or row.attempts + 1 >= self.park_after
                    failures.append(_Failure(row.seq, row.event_id, repr(result), park))
                else:
                    unavailable = unavailable or repr(result)
            if unavailable is not None:
                return sent, failures, unavailable
        return sent, failures, None

    async def _mark_unmarked(self, failures: Sequence[_Failure] = ()) -> None:
        """Mark the published rows sent and record ``failures``, in one transaction."""
        sent = list(self._unmarked)
        if not sent and not failures:
            return
        now = utcnow()
        async with self.db.write() as session:
            if sent:
                await session.execute(_mark_sent(session), {"seqs": sent, "now": now})
            for failure in failures:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq == failure.seq)
                    .values(
                        attempts=outbox.c.attempts + 1,
                        last_error=failure.error[:2000],
                        parked_at=now if failure.park else None,
                    )
                )
        del self._unmarked[: len(sent)]  # what was published meanwhile waits for the next mark
        for failure in failures:
            if failure.park:
                self.parked_total += 1
                log.error(
                    "outbox row parked: it cannot be published; later events of its aggregate "
                    "wait until an operator unparks it",
                    extra={
                        "seq": failure.seq,
                        "event_id": failure.event_id,
                        "error": failure.error,
                    },
                )

    async def parked(self) -> list[Any]:
        """Rows that wait for an operator, oldest first."""
        async with self.db.read() as session:
            result = await session.execute(
                select(outbox)
                .where(outbox.c.parked_at.is_not(None), outbox.c.published_at.is_(None))
                .order_by(outbox.c.seq)
            )
            return list(result.all())

    async def unpark(self, seq: int) -> bool:
        """Let the relay try a parked row again (after its cause was fixed)."""
        async with self.db.write() as session:
            result = await session.execute(
                update(outbox)
                .where(outbox.c.seq == seq, outbox.c.parked_at.is_not(None))
                .values(parked_at=None, attempts=0)
            )
        self._wake.set()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _release_lease(self) -> None:
        try:
            await self.lease.release()
        except Exception as exc:
            log.debug("could not release relay lease", extra={"error": repr(exc)})


@per_dialect
def _mark_sent(dialect: str) -> Any:
    """Set ``published_at`` to ``:now`` on the rows ``:seqs``."""
    return (
        update(outbox)
        .where(one_of_param(outbox.c.seq, "seqs", dialect))
        .values(published_at=bindparam("now"))
    )


def _pending_query(batch_size: int) -> ReadQuery:
    """The relay's read: unsent, unparked rows whose aggregate has no parked row, oldest first."""
    held_back = select(outbox.c.aggregate_id).where(
        outbox.c.published_at.is_(None), outbox.c.parked_at.is_not(None)
    )
    return ReadQuery(
        select(
            outbox.c.seq,
            outbox.c.event_id,
            outbox.c.subject,
            outbox.c.payload,
            outbox.c.aggregate_id,
            outbox.c.attempts,
        )
        .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
        .where(outbox.c.aggregate_id.not_in(held_back))
        .order_by(outbox.c.seq)
        .limit(batch_size)
    )
