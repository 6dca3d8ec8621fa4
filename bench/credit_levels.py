"""Credit levels after a policy change: recompute the score and level of N parties (default
100,000, each with a few records) under a new policy version, as POST /credit-policies does,
on SQLite and, when ``JIASAO_TEST_POSTGRES_URL`` is set, on PostgreSQL. Reports parties/s.

The files are filled with plain bulk inserts (not timed); the timed part is
``services.credit.files.service.recompute_all`` — reading records in force, scoring,
writing score, level and explanation, and emitting CreditLevelChanged (outbox) and list events
for every level that moves.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.credit.files.models import CreditParty, CreditRecord
from services.credit.files.policy import DEFAULT_RULES, CreditRules
from services.credit.files.service import Policy, add_policy, recompute_all
from services.kit.db import Database
from services.kit.ids import new_id
from services.kit.migrate import sync_url, upgrade

KINDS = ("certificate", "stars_high", "engagement_finished", "complaint_upheld", "rating_low")


def fill(url: str, parties: int, seed: int = 7) -> int:
    """``parties`` worker files at level B with 0–4 records each; the number of records."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    engine = sa.create_engine(sync_url(url))
    records = 0
    with engine.begin() as connection:
        for start in range(0, parties, 5000):
            party_rows: list[dict[str, Any]] = []
            record_rows: list[dict[str, Any]] = []
            for _ in range(start, min(start + 5000, parties)):
                party_id = uuid.uuid4()
                party_rows.append(
                    {
                        "party_id": party_id,
                        "party_kind": "worker",
                        "name": None,
                        "opened_at": now,
                        "score": 70,
                        "level": "B",
                        "policy_version": 1,
                        "computed_at": now,
                        "explanation": [],
                    }
                )
                for _ in range(rng.randint(0, 4)):
                    kind = rng.choice(KINDS)
                    negative = kind in ("complaint_upheld", "rating_low")
                    effective = now - timedelta(days=rng.randint(1, 100))
                    record_rows.append(
                        {
                            "id": new_id(),
                            "party_id": party_id,
                            "party_kind": "worker",
                            "kind": kind,
                            "polarity": "negative" if negative else "positive",
                            "severity": 1,
                            "source": "event",
                            "source_ref": "bench",
                            "dedupe_key": None,
                            "reason": "bench",
                            "effective_from": effective,
                            "effective_until": None,
                            "publish_until": effective + timedelta(days=365) if negative else None,
                            "supersedes_id": None,
                            "superseded_by_id": None,
                            "repaired_at": None,
                            "withdrawn_at": None,
                            "recorded_by": "bench",
                            "created_at": now,
                        }
                    )
            connection.execute(sa.insert(CreditParty.__table__), party_rows)
            if record_rows:
                connection.execute(sa.insert(CreditRecord.__table__), record_rows)
            records += len(record_rows)
    engine.dispose()
    return records


async def _recompute(url: str) -> dict[str, Any]:
    db = Database(url)
    try:
        rules = CreditRules.model_validate({**DEFAULT_RULES, "base_score": 75})
        async with db.write() as session:
            row = await add_policy(session, rules, reason="bench", created_by="bench")
            version = row.version
        started = time.perf_counter()
        done, changed = await recompute_all(db.write, Policy(version, rules))
        seconds = time.perf_counter() - started
    finally:
        await db.dispose()
    return {
        "parties": done,
        "levels_changed": changed,
        "seconds": round(seconds, 2),
        "parties_per_s": round(done / seconds),
    }


def run_credit_levels_bench(url: str, parties: int = 100_000) -> dict[str, Any]:
    """Migrate ``url`` (an empty credit database), fill it, and time the recompute."""
    if url.startswith("sqlite"):
        Path(sa.make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    upgrade("credit", url)
    records = fill(url, parties)
    figures = asyncio.run(_recompute(url))
    figures["records"] = records
    return figures
