"""Agency change feeds: an agency pulls the workers feed of N workers (default 100,000) from
zero, page by page, through the route's own code path (read, project to the agreement's
fields, JSON, SHA-256, EdDSA signature, hash-chained audit entry, the range recorded for the
workers' view), on SQLite and, when ``JIASAO_TEST_POSTGRES_URL`` is set, on PostgreSQL.
Prints ``feed <db>: N records/s for N workers; peak RSS +M MB`` (RSS sampled after every page,
relative to before the pull: memory stays flat when it does not grow with N).

The feed rows are bulk-inserted first (not timed), shaped as ``registry.worker.registered``
makes them. ``python -m bench.feed N certificates`` pulls credit's certificates feed instead
(rows shaped as ``credit.certificate.issued`` makes them), through the kit's feed route code
(:func:`services.kit.feed_api.serve_page`, as credit and matching serve their feeds).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.kit import agreements, feed_api
from services.kit.audit_chain import verify as verify_chain
from services.kit.auth import SigningKeys
from services.kit.db import Database
from services.kit.feed import feed_log
from services.kit.migrate import sync_url, upgrade
from services.kit.principal import Principal
from services.kit.signing import ExchangeSigner, ensure_dev_exchange_keys
from services.registry.agencies.feeds import serve_page
from services.registry.agencies.service import Grant

PAGE = 1000
EVENT_TYPES = {
    "workers": "jiasao.registry.worker.registered.v1",
    "certificates": "jiasao.credit.certificate.issued.v1",
}
FIELDS = frozenset({"name", "county", "status", "tracks", "target_groups", "id_card_masked"})
CERT_FIELDS = ("kind", "worker_id", "track", "issued_at", "valid_until")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _certificate(n: int, now: datetime) -> dict[str, Any]:
    return {
        "certificate_number": f"ZQJS-2026-{n:06d}",
        "kind": "training",
        "worker_id": str(uuid.uuid4()),
        "track": "maternal_infant",
        "course_id": str(uuid.uuid4()),
        "enrollment_id": str(uuid.uuid4()),
        "issued_at": (now - timedelta(seconds=n)).isoformat(),
        "valid_until": "2029-12-31",
    }


def fill(url: str, workers: int, dataset: str = "workers") -> None:
    now = datetime.now(UTC)
    engine = sa.create_engine(sync_url(url))
    with engine.begin() as connection:
        for start in range(0, workers, 5000):
            rows: list[dict[str, Any]] = []
            for n in range(start, min(start + 5000, workers)):
                record = {
                    "name": "陈秀英",
                    "gender": "female",
                    "birth_year": 1980 + n % 20,
                    "county": "gaoyao",
                    "id_card_masked": f"**************{n % 1000:03d}X",
                    "phone_masked": "138****0000",
                    "tracks": ["maternal_infant"],
                    "languages": ["cantonese"],
                    "status": "registered",
                    "company_id": None,
                    "registered_at": (now - timedelta(seconds=n)).isoformat(),
                    "education": "junior_high",
                    "target_groups": [],
                    "health_check_valid_until": None,
                    "no_criminal_record_valid_until": None,
                }
                if dataset == "certificates":
                    record = _certificate(n, now)
                rows.append(
                    {
                        "dataset": dataset,
                        "op": "upsert",
                        "record_id": str(uuid.uuid4()),
                        "event_id": str(uuid.uuid4()),
                        "event_type": EVENT_TYPES[dataset],
                        "record": json.dumps(record, ensure_ascii=False, sort_keys=True),
                        "recorded_at": now,
                    }
                )
            connection.execute(sa.insert(feed_log), rows)
    engine.dispose()


async def _pull(url: str, signer: ExchangeSigner, dataset: str = "workers") -> dict[str, Any]:
    db = Database(url)
    agency = Principal(subject="bench-client", role="agency", party_id=uuid.uuid4())
    grant = Grant("workers", FIELDS, (str(uuid.uuid4()),), ("bench",))
    kit_grant = agreements.Grant(
        "certificates", frozenset(CERT_FIELDS), (str(uuid.uuid4()),), ("bench",), 365
    )

    async def page_after(after: int) -> bytes:
        if dataset == "certificates":
            body, _ = await feed_api.serve_page(
                db, signer, agency, kit_grant, dataset, CERT_FIELDS, after, PAGE
            )
            return body
        body, _ = await serve_page(db, signer, agency, grant, "workers", after, PAGE)
        return body

    try:
        before = peak = _rss_mb()
        started = time.perf_counter()
        after, records, pages = 0, 0, 0
        while True:
            page = json.loads(await page_after(after))
            records += len(page["entries"])
            pages += 1
            after = page["next_cursor"]
            peak = max(peak, _rss_mb())
            if not page["has_more"]:
                break
        seconds = time.perf_counter() - started
        verdict = await verify_chain(db)
    finally:
        await db.dispose()
    return {
        "records": records,
        "pages": pages,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "peak_rss_increase_mb": round(peak - before, 1),
        "audit_entries_verified": verdict.entries if verdict.ok else None,
    }


def run_feed_bench(url: str, workers: int = 100_000, dataset: str = "workers") -> dict[str, Any]:
    """Migrate ``url`` (an empty registry, or credit, database), fill the feed, time the full
    pull."""
    if url.startswith("sqlite"):
        Path(sa.make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    upgrade("credit" if dataset == "certificates" else "registry", url)
    fill(url, workers, dataset)
    with tempfile.TemporaryDirectory() as keys:
        signer = ExchangeSigner(SigningKeys.load(ensure_dev_exchange_keys(Path(keys))), "bench")
        return asyncio.run(_pull(url, signer, dataset))


def feed_line(db: str, figures: dict[str, Any], workers: int, dataset: str = "workers") -> str:
    return (
        f"feed {db}: {figures['records_per_s']} records/s for {workers} {dataset}; "
        f"peak RSS +{figures['peak_rss_increase_mb']} MB"
    )


if __name__ == "__main__":  # python -m bench.feed [workers]
    import os
    import sys

    from tests.support.databases import POSTGRES_ENV, postgres_database

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    which = sys.argv[2] if len(sys.argv) > 2 else "workers"
    with tempfile.TemporaryDirectory() as scratch:
        figures = run_feed_bench(f"sqlite+aiosqlite:///{scratch}/feed.db", count, which)
        print(feed_line("sqlite", figures, count, which), json.dumps(figures), flush=True)
    if os.environ.get(POSTGRES_ENV):
        with postgres_database("jiasao_bench_feed") as url:
            figures = run_feed_bench(url, count, which)
            print(feed_line("postgresql", figures, count, which), json.dumps(figures), flush=True)
