"""Registry bulk-import benchmark: rows/s and memory for a 50,000-row worker CSV.

Generates a worker CSV (unique valid ID-card numbers and mobiles, plus a few hundred invalid
or duplicate rows), then, on a freshly migrated SQLite registry database (and on PostgreSQL
when ``JIASAO_TEST_POSTGRES_URL`` is set), runs the import job in-process — the same code the
``POST /api/v1/imports/workers`` background task runs — and imports the same file a second
time (the idempotent pass: every row unchanged, nothing written but the job's report).

Each measured run happens in a fresh child process, so its peak RSS is its own: ``peak_rss_
growth_mb`` is the child's peak resident size minus its size just before the import started.

    python -m bench.registry_import [--rows 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.kit.idnumbers import make_id_card

#: Zhaoqing's county-level division codes (端州 鼎湖 高要 广宁 怀集 封开 德庆 四会).
REGIONS = (
    ("441202", "duanzhou"),
    ("441203", "dinghu"),
    ("441204", "gaoyao"),
    ("441223", "guangning"),
    ("441224", "huaiji"),
    ("441225", "fengkai"),
    ("441226", "deqing"),
    ("441284", "sihui"),
)
TRACKS = ("maternal_infant", "housekeeping", "elderly_care", "medical_nursing")
HEADER = (
    "name,id_card_number,phone,county,languages,education,tracks,target_groups,"
    "health_check_date,health_check_institution,health_check_valid_until\n"
)
SURNAMES = "陈李张黄梁何罗吴林郑"
GIVEN = ("秀英", "丽华", "美玲", "桂芳", "玉兰", "小燕", "凤英", "淑珍")


def id_card_for(index: int) -> str:
    region = REGIONS[index % len(REGIONS)][0]
    step = index // len(REGIONS)
    birth = date(1965, 1, 1) + timedelta(days=step % 13000)
    return make_id_card(region, birth, f"{(step // 13000) % 1000:03d}")


def _row(index: int) -> str:
    county = REGIONS[index % len(REGIONS)][1]
    tracks = "|".join(TRACKS[(index + k) % 4] for k in range(1 + index % 2))
    name = SURNAMES[index % 10] + GIVEN[index % 8]
    health = "2025-03-01,肇庆市第一人民医院,2026-02-28" if index % 3 == 0 else ",,"
    return (
        f"{name},{id_card_for(index)},139{index:08d},{county},cantonese|mandarin,"
        f"junior_high,{tracks},4050,{health}\n"
    )


def _bad_row(k: int, rows: int) -> str:
    """A row the import must refuse (or report as a duplicate), cycling through four faults."""
    fault = k % 4
    if fault == 0:  # wrong check digit
        good = id_card_for(rows + 1_000 + k)
        wrong = "0" if good[-1] != "0" else "1"
        return f"错号,{good[:17]}{wrong},13700000000,duanzhou,,,,,,,\n"
    if fault == 1:  # bad mobile
        return f"错手机,{id_card_for(rows + 2_000 + k)},1380013,duanzhou,,,,,,,\n"
    if fault == 2:  # unknown county
        return f"错区县,{id_card_for(rows + 3_000 + k)},13600000000,beijing,,,,,,,\n"
    return _row(k)  # a duplicate of an earlier row


def write_csv(path: Path, rows: int, bad: int) -> int:
    """The benchmark file, written as a stream; returns the number of data rows."""
    every = max(rows // max(bad, 1), 1)
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        k = 0
        for index in range(rows):
            handle.write(_row(index))
            written += 1
            if index % every == every - 1 and k < bad:
                handle.write(_bad_row(k, rows))
                k += 1
                written += 1
    return written


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _child(database_url: str, csv_path: Path, var_dir: Path, size: int) -> dict[str, Any]:
    from services.kit.db import Database
    from services.kit.logging import configure_logging
    from services.kit.pii import ensure_dev_pii_keys, load_pii_cipher
    from services.kit.principal import Principal
    from services.kit.settings import PlatformSettings
    from services.registry.exchange.jobs import create_job, get_job, run_job

    # As the service runs: JSON logs at INFO (one line per registered worker) to stderr.
    configure_logging("registry", "INFO")
    ensure_dev_pii_keys(var_dir)
    cipher = load_pii_cipher(PlatformSettings(var_dir=var_dir))
    db = Database(database_url)
    actor = Principal(subject="bench", role="admin")
    result: dict[str, Any] = {}
    try:
        await db.ping()
        for label in ("import", "reimport"):
            job_id = uuid.uuid4()
            await create_job(
                db, job_id=job_id, kind="workers", fmt="csv", size=size, actor=actor, runner=None
            )
            before = _rss_mb()
            started = time.perf_counter()
            status = await run_job(
                db, cipher, job_id, csv_path, kind="workers", fmt="csv", actor=actor
            )
            seconds = time.perf_counter() - started
            job = await get_job(db, job_id)
            assert job is not None
            counts = {
                k: getattr(job, k)
                for k in ("total", "created", "unchanged", "conflict", "duplicate", "invalid")
            }
            result[label] = {
                "status": status,
                "seconds": round(seconds, 2),
                "rows_per_s": round(job.total / seconds),
                "peak_rss_growth_mb": round(max(_maxrss_mb() - before, 0.0), 1),
                "counts": counts,
            }
    finally:
        await db.dispose()
    return result


def _run_child(database_url: str, csv_path: Path, work_dir: Path, label: str) -> dict[str, Any]:
    log_file = work_dir / f"{label}.log"
    with open(log_file, "wb") as stderr:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.registry_import",
                "--child",
                database_url,
                str(csv_path),
                str(work_dir / "var"),
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
        )
    if done.returncode != 0:
        tail = log_file.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"import bench ({label}) failed:\n{tail}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def _summary(runs: dict[str, Any]) -> dict[str, Any]:
    first, second = runs["import"], runs["reimport"]
    return {
        "rows_per_s": first["rows_per_s"],
        "seconds": first["seconds"],
        "peak_rss_growth_mb": first["peak_rss_growth_mb"],
        "counts": first["counts"],
        "reimport_seconds": second["seconds"],
        "reimport_rows_per_s": second["rows_per_s"],
        "reimport_peak_rss_growth_mb": second["peak_rss_growth_mb"],
        "reimport_counts": second["counts"],
    }


def run_import_bench(work_dir: Path, rows: int = 50_000, bad: int = 300) -> dict[str, Any]:
    """Import a ``rows``-row worker CSV (+ ``bad`` faulty rows) on SQLite (and PostgreSQL)."""
    from services.kit.migrate import upgrade
    from tests.support.databases import POSTGRES_ENV, postgres_database

    work_dir.mkdir(parents=True, exist_ok=True)
    csv_path = work_dir / "workers.csv"
    total = write_csv(csv_path, rows, bad)
    results: dict[str, Any] = {
        "rows": total,
        "valid_rows": rows,
        "file_mb": round(csv_path.stat().st_size / 2**20, 1),
    }
    sqlite_url = f"sqlite+aiosqlite:///{work_dir / 'registry.db'}"
    upgrade("registry", sqlite_url)
    results["sqlite"] = _summary(_run_child(sqlite_url, csv_path, work_dir, "sqlite"))
    if os.environ.get(POSTGRES_ENV):
        with postgres_database("jiasao_bench_import") as pg_url:
            upgrade("registry", pg_url)
            results["postgresql"] = _summary(_run_child(pg_url, csv_path, work_dir, "postgresql"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.registry_import")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--bad", type=int, default=300)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--child", nargs=3, metavar=("DATABASE_URL", "CSV", "VAR_DIR"))
    args = parser.parse_args(argv)
    if args.child:
        url, csv_file, var_dir = args.child
        size = Path(csv_file).stat().st_size
        outcome = asyncio.run(_child(url, Path(csv_file), Path(var_dir), size))
        logging.shutdown()
        print(json.dumps(outcome), flush=True)
        return 0
    if args.work_dir is not None:
        print(json.dumps(run_import_bench(args.work_dir, args.rows, args.bad), indent=2))
        return 0
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jiasao-import-bench-") as scratch:
        print(json.dumps(run_import_bench(Path(scratch), args.rows, args.bad), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
