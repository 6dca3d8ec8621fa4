"""Change feeds: a durable, ordered log of what changed, per dataset, built from a service's
own events and served to agencies page by page ("everything after cursor C").

A service declares which of its events feed which dataset (:func:`register`): the event type,
the dataset, the kind of entry (``upsert`` for a new record, ``correction`` for a change of a
known one, ``deletion``) and how to turn the event's data into the record's fields. From then
on :func:`services.kit.outbox.publish` also appends one ``kit_feed`` row per feeding event *in
the same transaction* as the outbox row, so a feed never misses or invents a change. The feed
is its own log: outbox rows are deleted by retention, feed rows are not.

The cursor is the row's ``seq`` (a monotonically increasing integer); an agency starts from 0
and may restart from 0 whenever it wants. On PostgreSQL ``seq`` is handed out at INSERT, so a
reader could see seq 12 committed before 11; :func:`read_page` therefore stops at a row that
follows a gap in ``seq`` and is younger than :data:`SETTLE_SECONDS` (the gap may be a
transaction still committing), so a cursor never skips a change. On SQLite writes are
serialised and there are no gaps in flight.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Column, Index, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.tables import exchange_metadata
from services.kit.types import BigIntPK, UtcDateTime, utcnow

Op = Literal["upsert", "correction", "deletion"]
OPS: tuple[Op, ...] = ("upsert", "correction", "deletion")

feed_log = Table(
    "kit_feed",
    exchange_metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("dataset", String(40), nullable=False),
    Column("op", String(12), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(200), nullable=False),
    #: The record's fields as the event stated them (JSON object, masked numbers only).
    Column("record", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
#: The columns a feed row gives (:func:`rows_for`); ``seq`` is the database's.
ROW_COLUMNS = ("dataset", "op", "record_id", "event_id", "event_type", "record", "recorded_at")
Index("ix_kit_feed_dataset_seq", feed_log.c.dataset, feed_log.c.seq)
Index("ix_kit_feed_record", feed_log.c.dataset, feed_log.c.record_id)

Projector = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class FeedSource:
    """One event type feeding one dataset."""

    event_type: str
    dataset: str
    op: Op
    #: The record id within the event's data.
    id_field: str
    #: The record's fields from the event's data (default: every field but the id).
    project: Projector | None = None
    #: The entry's kind from the event's data, when one event type makes either (a level's
    #: first computation is an ``upsert``, its recomputations ``correction``s); else ``op``.
    op_of: Callable[[dict[str, Any]], Op] | None = None

    def record(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.project is not None:
            return self.project(data)
        return {k: v for k, v in data.items() if k != self.id_field}


_SOURCES: dict[str, list[FeedSource]] = {}


def register(*sources: FeedSource) -> None:
    """Declare feeding events (idempotent: a source registered twice is kept once)."""
    for source in sources:
        known = _SOURCES.setdefault(source.event_type, [])
        if source not in known:
            known.append(source)


def unregister(*sources: FeedSource) -> None:
    """Forget feeding events (tests that register their own)."""
    for source in sources:
        known = _SOURCES.get(source.event_type, [])
        if source in known:
            known.remove(source)
        if not known:
            _SOURCES.pop(source.event_type, None)


def feeds_event(event_type: str) -> bool:
    return event_type in _SOURCES


def datasets() -> set[str]:
    return {s.dataset for sources in _SOURCES.values() for s in sources}


def rows_for(event_type: str, event_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``kit_feed`` rows an event makes (none when nothing feeds on it)."""
    now = utcnow()
    return [
        {
            "dataset": source.dataset,
            "op": source.op if source.op_of is None else source.op_of(data),
            "record_id": str(data[source.id_field]),
            "event_id": event_id,
            "event_type": event_type,
            "record": json.dumps(source.record(data), ensure_ascii=False, sort_keys=True),
            "recorded_at": now,
        }
        for source in _SOURCES.get(event_type, ())
    ]


@dataclass(frozen=True)
class Entry:
    seq: int
    op: str
    record_id: str
    event_id: str
    event_type: str
    recorded_at: datetime
    record: dict[str, Any]

    def projected(self, fields: Iterable[str] | None) -> dict[str, Any]:
        """The entry as served: the record reduced to ``fields`` (all when None)."""
        keep = None if fields is None else set(fields)
        record = (
            self.record if keep is None else {k: v for k, v in self.record.items() if k in keep}
        )
        return {
            "seq": self.seq,
            "op": self.op,
            "id": self.record_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "at": self.recorded_at.isoformat().replace("+00:00", "Z"),
            "record": record,
        }


#: On PostgreSQL a row behind a gap may still be committing; wait this long before serving it.
SETTLE_SECONDS = 2.0


async def read_page(
    session: AsyncSession, dataset: str, after: int, limit: int
) -> tuple[list[Entry], bool]:
    """Entries of ``dataset`` with ``seq > after`` in order; (entries, more may follow)."""
    rows = (
        await session.execute(
            select(feed_log)
            .where(feed_log.c.dataset == dataset, feed_log.c.seq > after)
            .order_by(feed_log.c.seq)
            .limit(limit + 1)
        )
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        settled = await _settled(session, after, rows)
        more = more or len(settled) < len(rows)
        rows = settled
    entries = [
        Entry(
            seq=row.seq,
            op=row.op,
            record_id=row.record_id,
            event_id=row.event_id,
            event_type=row.event_type,
            recorded_at=row.recorded_at,
            record=json.loads(row.record),
        )
        for row in rows
    ]
    return entries, more


async def _settled(session: AsyncSession, after: int, rows: list[Any]) -> list[Any]:
    """Rows up to the first one that follows a seq gap and is younger than the settle time.

    A gap (seq 11 missing between 10 and 12) is another dataset's row, a rolled-back insert
    or a transaction still committing; only the last needs waiting for, and it can last only
    as long as a transaction, so a gap older than :data:`SETTLE_SECONDS` is final.
    """
    if not rows:
        return rows
    seqs = [after, *(r.seq for r in rows)]
    lo, hi = seqs[0], seqs[-1]
    present = set(
        (
            await session.scalars(
                select(feed_log.c.seq).where(feed_log.c.seq > lo, feed_log.c.seq <= hi)
            )
        ).all()
    )
    horizon = utcnow() - timedelta(seconds=SETTLE_SECONDS)
    kept: list[Any] = []
    previous = lo
    for row in rows:
        gap = any(s not in present for s in range(previous + 1, row.seq))
        if gap and row.recorded_at > horizon:
            break
        kept.append(row)
        previous = row.seq
    return kept
