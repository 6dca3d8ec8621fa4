"""The course read benchmark alone (part 1 of ``make bench``), on SQLite and PostgreSQL::

    python -m bench.read [--seconds 8] [--skip-postgres]

Prints the ``read direct <db>: …`` line, the token-verification line, and the CPU each process
spent per request (``/proc``; unlike requests/s it hardly depends on what else the machine runs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.__main__ import (
    admin_headers,
    gateway_figures,
    read_line,
    running_platform,
    verification_line,
)
from bench.gateway import run_load
from services.kit.settings import SERVICES
from tests.support.databases import POSTGRES_ENV, postgres_database


def cpu_line(db: str, figures: dict[str, Any]) -> str:
    direct = figures["direct"].get("cpu_us_per_request", {})
    gateway = figures["gateway"].get("cpu_us_per_request", {})
    return (
        f"read cpu {db}: direct training {direct.get('training')} us/req; via gateway "
        f"training {gateway.get('training')} us/req, gateway {gateway.get('gateway')} us/req; "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.read")
    parser.add_argument("--seconds", type=float, default=8.0, help="per load run")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="jiasao-bench-read-") as scratch:
        var_dir = Path(scratch) / "sqlite"
        with running_platform(var_dir) as platform:
            results["sqlite"] = run_load(
                gateway_figures(platform, admin_headers(var_dir), args.seconds)
            )
        print(read_line("sqlite", results["sqlite"]), flush=True)
        print(verification_line(results["sqlite"]), flush=True)
        print(cpu_line("sqlite", results["sqlite"]), flush=True)
        if os.environ.get(POSTGRES_ENV) and not args.skip_postgres:
            with ExitStack() as stack:
                env = {
                    f"{name.upper()}_DATABASE_URL": stack.enter_context(
                        postgres_database(f"jiasao_bench_read_{name}")
                    )
                    for name in SERVICES
                }
                pg_var = Path(scratch) / "postgres"
                platform = stack.enter_context(running_platform(pg_var, env))
                results["postgresql"] = run_load(
                    gateway_figures(platform, admin_headers(pg_var), args.seconds)
                )
            print(read_line("postgresql", results["postgresql"]), flush=True)
            print(verification_line(results["postgresql"]), flush=True)
            print(cpu_line("postgresql", results["postgresql"]), flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
