"""``python -m services.registry audit backfill-feeds``: put records registered before the feeds
existed (migration 0008) into them, once, as ``upsert`` entries built from the current rows.

Only records with no feed entry yet get one (running it again adds nothing), in the fields the
registration events carry (masked numbers only: the ID-card mask keeps the last four characters,
never the region beside a birth year). The entries' ``event_type`` is ``backfill``, so an
agency can tell them from entries made by events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select

from services.kit.db import Database
from services.kit.feed import feed_log
from services.kit.ids import new_id
from services.kit.types import utcnow
from services.registry.parties.models import Company, Institution, Worker

BATCH = 1000


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _worker(w: Worker) -> dict[str, Any]:
    return {
        "name": w.name,
        "gender": w.gender,
        "birth_year": w.birth_date.year if w.birth_date else None,
        "county": w.county,
        "id_card_masked": "*" * 14 + (w.id_card_masked or "")[-4:],
        "phone_masked": w.phone_masked,
        "tracks": list(w.tracks or []),
        "languages": list(w.languages or []),
        "status": w.status,
        "company_id": str(w.company_id) if w.company_id else None,
        "registered_at": _iso(w.created_at),
        "education": w.education,
        "target_groups": list(w.target_groups or []),
        "health_check_valid_until": _iso(w.health_check_valid_until),
        "no_criminal_record_valid_until": _iso(w.no_criminal_record_valid_until),
    }


def _company(c: Company) -> dict[str, Any]:
    return {
        "name": c.name,
        "credit_code": c.credit_code,
        "county": c.county,
        "kind": c.kind,
        "honours": list(c.honours or []),
        "registered_at": _iso(c.created_at),
    }


def _institution(i: Institution) -> dict[str, Any]:
    return {
        "name": i.name,
        "credit_code": i.credit_code,
        "county": i.county,
        "level": i.level,
        "tracks": list(i.tracks or []),
        "registered_at": _iso(i.created_at),
    }


SOURCES: dict[str, tuple[Any, Callable[[Any], dict[str, Any]]]] = {
    "workers": (Worker, _worker),
    "companies": (Company, _company),
    "institutions": (Institution, _institution),
}


async def backfill(db: Database) -> dict[str, int]:
    """Entries added per dataset."""
    added: dict[str, int] = {}
    for dataset, (model, record) in SOURCES.items():
        added[dataset] = 0
        after = None
        while True:
            async with db.write() as session:
                query = select(model).order_by(model.id).limit(BATCH)
                if after is not None:
                    query = query.where(model.id > after)
                rows = (await session.scalars(query)).all()
                if not rows:
                    break
                after = rows[-1].id
                known = set(
                    (
                        await session.scalars(
                            select(feed_log.c.record_id).where(
                                feed_log.c.dataset == dataset,
                                feed_log.c.record_id.in_([str(r.id) for r in rows]),
                            )
                        )
                    ).all()
                )
                now = utcnow()
                missing = [
                    {
                        "dataset": dataset,
                        "op": "upsert",
                        "record_id": str(r.id),
                        "event_id": str(new_id()),
                        "event_type": "backfill",
                        "record": json.dumps(record(r), ensure_ascii=False, sort_keys=True),
                        "recorded_at": now,
                    }
                    for r in rows
                    if str(r.id) not in known
                ]
                if missing:
                    await session.execute(insert(feed_log), missing)
                added[dataset] += len(missing)
            if len(rows) < BATCH:
                break
    return added
