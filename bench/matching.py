"""Match benchmark: ``python -m bench.matching [--sizes 100000 1000000] [--rounds 200]``.

Seeds matching's own database (migrated, SQLite, and PostgreSQL when
``JIASAO_TEST_POSTGRES_URL`` is set) with N housekeeping candidates — stars, credit level,
certificates, experience, languages, preferences drawn from a fixed seed — and their rows of
the per-track ordering, then times the domain call behind ``GET /jobs/{id}/matches`` (hard
filters, ranked score with reasons, top 20) over a mix of jobs, and prints per size

    match top-20 <db> <n> workers: p50 X ms p99 Y ms

(``make bench`` runs it too; the rows read and the seeding time go to its JSON figures).

The pool grows in place from the smaller size to the larger, so both figures see the same
first candidates. Goal (issue 10): p99 at 1M ≤ 3× p99 at 100k, and ≤ 50 ms on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import JSON, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.ids import new_id
from services.matching.models import Base, Candidate, CandidateCertificate, DeclaredTrack, TrackRank
from services.matching.policy import Policy, base_reasons, current_policy, hundredths, total
from services.matching.ranking import match_job
from services.matching.recruitment.models import Job
from tests.support.databases import POSTGRES_ENV, service_database

COUNTIES = ["duanzhou", "dinghu", "gaoyao", "sihui", "guangning", "huaiji", "fengkai", "deqing"]
LANGUAGES = [["cantonese"], ["mandarin"], ["cantonese", "mandarin"], ["hakka", "mandarin"]]
CITIES = ["zhaoqing", "guangzhou", "shenzhen", "hong_kong", "macau"]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
AS_OF = date(2026, 12, 5)
CHUNK = 5000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _rows(rng: random.Random, start: int, count: int, policy: Policy) -> dict[str, list[Any]]:
    candidates, tracks, ranks, certificates = [], [], [], []
    for index in range(start, start + count):
        worker_id = uuid.UUID(int=index + 1)
        stars = rng.choices([None, 1, 2, 3, 4, 5], [10, 5, 15, 35, 25, 10])[0]
        candidate = {
            "worker_id": worker_id,
            "name": f"工{index}",
            "county": rng.choice(COUNTIES),
            "status": "active",
            "stars": stars,
            "rating_year": 2026 if stars else None,
            "languages": rng.choice(LANGUAGES),
            "credit_level": rng.choice([None, "A", "B", "B", "C", "D"]),
            "finished_engagements": rng.choice([0, 0, 0, 1, 2, 5]),
            "open_engagements": 1 if rng.random() < 0.05 else 0,
            "preferred_cities": rng.choice([None, ["guangzhou"], ["shenzhen", "hong_kong"]]),
            "expected_pay_min": rng.choice([None, 4000, 6000, 9000]),
            "accepts_live_in": rng.choice([None, True, False]),
            "list_status": None,
            "version": 1,
            "created_at": NOW,
            "updated_at": NOW,
        }
        certs = []
        for _ in range(rng.choices([0, 1, 2], [50, 40, 10])[0]):
            certs.append(
                {
                    "certificate_id": new_id(),
                    "worker_id": worker_id,
                    "number": f"BENCH-{index:010d}-{len(certs)}",
                    "kind": "training",
                    "track": rng.choice(["housekeeping", "housekeeping", "elderly_care"]),
                    "issued_at": NOW,
                    "valid_until": None,
                    "recorded_at": NOW,
                }
            )
        view = SimpleNamespace(**candidate)
        base = base_reasons(
            policy.weights,
            view,  # type: ignore[arg-type]
            [SimpleNamespace(**c) for c in certs],  # type: ignore[misc]
            "housekeeping",
            None,
        )
        candidates.append(candidate)
        tracks.append({"worker_id": worker_id, "track": "housekeeping"})
        ranks.append(
            {
                "worker_id": worker_id,
                "track": "housekeeping",
                "base_score": hundredths(total(base)),
                "eligible": rng.random() > 0.03,
                "policy_version": policy.version,
            }
        )
        certificates += certs
    return {"candidates": candidates, "tracks": tracks, "ranks": ranks, "certs": certificates}


async def seed(db: Database, policy: Policy, start: int, count: int) -> None:
    rng = random.Random(start)
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        rows = _rows(rng, start + done, size, policy)
        async with db.write() as session:
            await _insert(session, Candidate, rows["candidates"])
            await _insert(session, DeclaredTrack, rows["tracks"])
            await _insert(session, TrackRank, rows["ranks"])
            if rows["certs"]:
                await _insert(session, CandidateCertificate, rows["certs"])
        done += size


async def _insert(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Rows into ``model``'s table: COPY on PostgreSQL (executemany took minutes for 100k),
    a bulk INSERT on SQLite."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(model), rows)
        return
    table = model.__table__
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    records = [
        tuple(
            orjson.dumps(row[c]).decode() if c in json_columns and row[c] is not None else row[c]
            for c in columns
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=columns
    )


def jobs() -> list[Job]:
    made = []
    for index, (city, district, languages, certificate, stars) in enumerate(
        [
            ("zhaoqing", "gaoyao", ["cantonese"], False, None),
            ("shenzhen", "nanshan", ["cantonese"], True, None),
            ("guangzhou", "tianhe", ["mandarin"], False, 3),
            ("hong_kong", None, ["cantonese", "mandarin"], True, 4),
        ]
    ):
        made.append(
            Job(
                id=uuid.UUID(int=10**9 + index),
                poster_role="employer",
                poster_party_id=uuid.uuid4(),
                poster_account_id="bench",
                employer_id=None,
                company_id=None,
                partner_id=None,
                track="housekeeping",
                city=city,
                district=district,
                live_in=index % 2 == 0,
                pay_min=5000,
                pay_max=8000,
                languages=languages,
                certificate_required=certificate,
                min_stars=stars,
            )
        )
    return made


async def measure(db: Database, rounds: int) -> tuple[list[float], list[int]]:
    async with db.read() as session:
        policy = await current_policy(session)
    timings, reads = [], []
    for round_ in range(rounds):
        job = jobs()[round_ % 4]
        started = time.perf_counter()
        async with db.read() as session:
            best, read = await match_job(session, job, policy, as_of=AS_OF, limit=20)
        timings.append((time.perf_counter() - started) * 1000)
        reads.append(read)
        assert len(best) == 20
    return timings, reads


def match_line(backend: str, size: int, figures: dict[str, Any]) -> str:
    return (
        f"match top-20 {backend} {size} workers: "
        f"p50 {figures['p50_ms']:.1f} ms p99 {figures['p99_ms']:.1f} ms"
    )


async def run(backend: str, sizes: list[int], rounds: int, tmp: Path) -> dict[str, Any]:
    """Seed and measure each size in turn; the figures by size (each also printed)."""
    results: dict[str, Any] = {}
    with service_database("matching", backend, tmp) as url:
        db = Database(url)
        try:
            async with db.read() as session:
                policy = await current_policy(session)
            seeded = 0
            for size in sorted(sizes):
                started = time.perf_counter()
                await seed(db, policy, seeded, size - seeded)
                seeded = size
                await settle(db, backend)
                seed_s = time.perf_counter() - started
                await measure(db, 8)  # warm caches
                timings, reads = await measure(db, rounds)
                figures = {
                    "p50_ms": round(percentile(timings, 0.5), 1),
                    "p99_ms": round(percentile(timings, 0.99), 1),
                    "rows_read_p50": statistics.median(reads),
                    "rows_read_max": max(reads),
                    "seed_s": round(seed_s),
                    "rounds": rounds,
                }
                results[str(size)] = figures
                print(match_line(backend, size, figures), flush=True)
        finally:
            await db.dispose()
    return results


async def settle(db: Database, backend: str) -> None:
    """After a bulk load, the state a live table is in: statistics, and on PostgreSQL a
    vacuumed visibility map (autovacuum's work; index-only scans need it)."""
    if backend == "postgresql":
        engine = db.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))
    else:
        async with db.write() as session:
            await session.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
    if args.backend != "both":
        backends = [args.backend]
    run_match_bench(backends, args.sizes, args.rounds)


def run_match_bench(backends: list[str], sizes: list[int], rounds: int = 200) -> dict[str, Any]:
    """Each backend in turn in a scratch directory; the figures by backend and size."""
    with tempfile.TemporaryDirectory(prefix="jiasao-match-") as tmp:
        return {
            backend: asyncio.run(run(backend, sizes, rounds, Path(tmp))) for backend in backends
        }


if __name__ == "__main__":
    main()
