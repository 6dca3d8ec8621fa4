"""``python -m services.<name> backfill-feeds``: put records that existed before a service's
change feeds into them, once, as ``upsert`` entries built from the current rows.

The registry's ``audit backfill-feeds`` (:mod:`services.registry.agencies.backfill`) does it for
workers, companies and institutions; credit (certificates, cards, credit levels and lists) and
matching (jobs, hires) declare a :class:`Backfill` per dataset and run :func:`backfill`. Only
records with no feed entry yet get one, so running it again adds nothing; the entries'
``event_type`` is ``backfill``, so an agency can tell them from entries made by events. A
source may skip rows that an agency should never learn of as new (a list entry that already
ended, a job already off the board).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from services.kit.db import Database
from services.kit.feed import feed_log
from services.kit.ids import new_id
from services.kit.settings import PlatformSettings, service_settings
from services.kit.types import utcnow

BATCH = 1000


def iso(value: Any) -> Any:
    """JSON form of dates, datetimes and UUIDs (as the events carry them)."""
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@dataclass(frozen=True)
class Backfill:
    dataset: str
    #: ORM model; rows are read in pages ordered by ``key`` (its primary key column).
    model: Any
    key: str
    #: The record's fields as the feed states them; None skips the row.
    record: Callable[[Any], dict[str, Any] | None]


async def backfill(db: Database, sources: Sequence[Backfill]) -> dict[str, int]:
    """Entries added per dataset."""
    added: dict[str, int] = {}
    for source in sources:
        added[source.dataset] = 0
        column = getattr(source.model, source.key)
        after = None
        while True:
            async with db.write() as session:
                query = select(source.model).order_by(column).limit(BATCH)
                if after is not None:
                    query = query.where(column > after)
                rows = (await session.scalars(query)).all()
                if not rows:
                    break
                after = getattr(rows[-1], source.key)
                ids = [str(getattr(r, source.key)) for r in rows]
                known = set(
                    (
                        await session.scalars(
                            select(feed_log.c.record_id).where(
                                feed_log.c.dataset == source.dataset,
                                feed_log.c.record_id.in_(ids),
                            )
                        )
                    ).all()
                )
                now = utcnow()
                missing = []
                for row, record_id in zip(rows, ids, strict=True):
                    if record_id in known or (record := source.record(row)) is None:
                        continue
                    missing.append(
                        {
                            "dataset": source.dataset,
                            "op": "upsert",
                            "record_id": record_id,
                            "event_id": str(new_id()),
                            "event_type": "backfill",
                            "record": json.dumps(record, ensure_ascii=False, sort_keys=True),
                            "recorded_at": now,
                        }
                    )
                if missing:
                    await session.execute(insert(feed_log), missing)
                added[source.dataset] += len(missing)
            if len(rows) < BATCH:
                break
    return added


async def _run(service: str, sources: Sequence[Backfill]) -> dict[str, int]:
    database = Database(service_settings(service, PlatformSettings()).database_url)
    try:
        return await backfill(database, sources)
    finally:
        await database.dispose()


def main(service: str, sources: Sequence[Backfill]) -> int:
    added = asyncio.run(_run(service, sources))
    print("feed entries added: " + ", ".join(f"{k} {v}" for k, v in added.items()))
    return 0
