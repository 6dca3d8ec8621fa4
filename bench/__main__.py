"""``make bench``: the platform's speed figures, measured on this machine in one run.

1. The authenticated course read: requests/s straight to training and through the gateway, and
   their ratio (goal ≥ 2,500 req/s direct, ratio ≥ 0.6), on SQLite and, when
   ``JIASAO_TEST_POSTGRES_URL`` is set, on PostgreSQL; with the CPU each process spent per read.
2. Event chain: N training completions until the candidate shows the certificate, on SQLite and,
   when ``JIASAO_TEST_POSTGRES_URL`` is set, on PostgreSQL (one database per service).
3. Registry bulk import: rows/s for a 50,000-row CSV file (when the importer is present).
4. Credit levels: recomputing 100,000 credit files after a policy change, parties/s, on SQLite
   and, when ``JIASAO_TEST_POSTGRES_URL`` is set, on PostgreSQL.
5. Agency feed: an agency pulls the signed, audited workers feed of 100,000 workers from zero
   (``feed <db>: N records/s for 100000 workers; peak RSS +M MB``), on SQLite and PostgreSQL.
6. Matching: the top 20 candidates for a job among 100,000 and 1,000,000 workers (bench/
   matching.py), ``match top-20 <db> <N> workers: p50 X ms p99 Y ms``, on SQLite and, when
   ``JIASAO_TEST_POSTGRES_URL`` is set, on PostgreSQL (goal: p99 at 1M <= 50 ms there).

Everything runs on free ports in a temporary directory; nothing touches ``var/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from bench.chain import run_chain_bench
from bench.gateway import run_gateway_bench, run_load
from devtools.run import Platform, PlatformConfig
from services.kit.auth import SigningKeys, TokenIssuer
from services.kit.settings import SERVICES
from tests.support.databases import POSTGRES_ENV, postgres_database


def admin_headers(var_dir: Path) -> dict[str, str]:
    keys = SigningKeys.load(var_dir / "secrets" / "jwt_keys.json")
    from services.kit.settings import PlatformSettings

    platform = PlatformSettings()
    token, _ = TokenIssuer(
        keys, issuer=platform.jwt_issuer, audience=platform.jwt_audience, ttl=3600
    ).issue(subject="bench", role="admin")
    return {"Authorization": f"Bearer {token}"}


#: The bench drives thousands of requests a second with one token: the per-client limit
#: (600 a minute by default) would measure the limiter, not the platform.
UNLIMITED = {
    "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
    "GATEWAY_RATE_LIMIT_BURST": "1000000",
}


@contextmanager
def running_platform(var_dir: Path, env: dict[str, str] | None = None) -> Iterator[Platform]:
    platform = Platform(PlatformConfig.with_free_ports(var_dir, env={**UNLIMITED, **(env or {})}))
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


async def gateway_figures(platform: Platform, headers: dict[str, str], seconds: float) -> Any:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(
            platform.gateway_url + "/api/v1/courses",
            json={
                "title": "Gateway bench course",
                "track": "housekeeping",
                "training_type": "refresher",
                "hours": 8,
            },
            headers=headers,
        ) as response:
            course = await response.json()
            if response.status != 201:
                raise RuntimeError(f"cannot create the bench course: {course}")
    path = f"/api/v1/courses/{course['id']}"
    # A signed-in caller's read: the gateway checks the token at the edge (cached), the
    # service verifies it again itself (DESIGN.md §4), so both sides pay for authentication.
    figures = await run_gateway_bench(
        platform.gateway_url,
        platform.url("training"),
        path,
        seconds=seconds,
        concurrency=32,
        headers=headers,
        pids={"training": platform.pids()["training"], "gateway": platform.pids()["gateway"]},
    )
    anonymous = await run_gateway_bench(
        platform.gateway_url,
        platform.url("training"),
        path,
        seconds=seconds / 2,
        concurrency=32,
        pids={"training": platform.pids()["training"]},
    )
    figures["anonymous_direct_rps"] = anonymous["direct_rps"]
    figures["verification"] = await verification_cost(platform, headers)
    return figures


async def verification_cost(platform: Platform, headers: dict[str, str], rounds: int = 2000) -> Any:
    """CPU time of one service-side token verification (EdDSA signature, claims, principal),
    measured in-process on this machine with the platform's own keys: in full (what a new
    token costs) and as the services pay it for a token they verified recently (cached)."""
    import time

    from services.kit.auth import FileKeySource, TokenVerifier
    from services.kit.settings import PlatformSettings

    settings = PlatformSettings()
    token = headers["Authorization"].removeprefix("Bearer ")
    figures: dict[str, Any] = {"rounds": rounds}
    for name, cache_size in (("us_per_verification", 0), ("us_per_cached_verification", 4096)):
        verifier = TokenVerifier(
            FileKeySource(platform.var_dir / "secrets" / "jwt_keys.json"),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            cache_size=cache_size,
        )
        await verifier.verify(token)  # loads the key file once
        started = time.process_time()
        for _ in range(rounds):
            await verifier.verify(token)
        figures[name] = round((time.process_time() - started) / rounds * 1e6, 1)
    return figures


def read_line(db: str, figures: dict[str, Any]) -> str:
    return (
        f"read direct {db}: {figures['direct_rps']:.0f} req/s; gateway: "
        f"{figures['gateway_rps']:.0f} req/s; ratio {figures['ratio']:.2f}"
    )


def verification_line(figures: dict[str, Any]) -> str:
    cpu = figures["direct"].get("cpu_us_per_request", {}).get("training")
    verification = figures["verification"]
    return (
        f"token verification: {verification['us_per_verification']:.0f} us in full, "
        f"{verification['us_per_cached_verification']:.1f} us for a token the service verified "
        f"in the last minute; course read direct anonymous "
        f"{figures['anonymous_direct_rps']:.0f} req/s vs authenticated "
        f"{figures['direct_rps']:.0f} req/s"
        + (f"; training CPU {cpu} us per authenticated read" if cpu is not None else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--completions", type=int, default=1000, help="paced chains measured (after 300 warm-up)"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per gateway load run")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-import", action="store_true", help="skip the 50k-row import")
    parser.add_argument("--credit-parties", type=int, default=100_000)
    parser.add_argument(
        "--feed-workers", type=int, default=100_000, help="agency feed size (0 skips it)"
    )
    parser.add_argument(
        "--match-sizes",
        type=int,
        nargs="*",
        default=[100_000, 1_000_000],
        help="candidate pools of the match benchmark (none: skip it)",
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="jiasao-bench-") as scratch:
        var_dir = Path(scratch) / "sqlite"
        with running_platform(var_dir) as platform:
            headers = admin_headers(var_dir)
            results["gateway"] = run_load(gateway_figures(platform, headers, args.seconds))
            print(read_line("sqlite", results["gateway"]), flush=True)
            print(verification_line(results["gateway"]), flush=True)
            matching_db = f"sqlite+aiosqlite:///{(var_dir / 'matching.db').resolve()}"
            results["chain_sqlite"] = asyncio.run(
                run_chain_bench(
                    platform.gateway_url,
                    headers,
                    matching_db,
                    count=args.completions,
                    pids=platform.pids(),
                )
            )
            print("event chain (SQLite):", json.dumps(results["chain_sqlite"]), flush=True)
        if os.environ.get(POSTGRES_ENV) and not args.skip_postgres:
            with ExitStack() as stack:
                env = {
                    f"{name.upper()}_DATABASE_URL": stack.enter_context(
                        postgres_database(f"jiasao_bench_{name}")
                    )
                    for name in SERVICES
                }
                pg_var = Path(scratch) / "postgres"
                platform = stack.enter_context(running_platform(pg_var, env))
                headers = admin_headers(pg_var)
                results["gateway_postgres"] = run_load(
                    gateway_figures(platform, headers, args.seconds)
                )
                print(read_line("postgresql", results["gateway_postgres"]), flush=True)
                print(verification_line(results["gateway_postgres"]), flush=True)
                results["chain_postgres"] = asyncio.run(
                    run_chain_bench(
                        platform.gateway_url,
                        headers,
                        env["MATCHING_DATABASE_URL"],
                        count=args.completions,
                        pids=platform.pids(),
                        databases=[str(make_url(url).database) for url in env.values()],
                    )
                )
                print("event chain (PostgreSQL):", json.dumps(results["chain_postgres"]))
        if not args.skip_import:
            from bench.registry_import import run_import_bench

            results["registry_import"] = run_import_bench(Path(scratch) / "import")
            print("registry import:", json.dumps(results["registry_import"]), flush=True)
        if args.credit_parties:
            from bench.credit_levels import run_credit_levels_bench

            credit_url = f"sqlite+aiosqlite:///{Path(scratch) / 'credit-bench' / 'credit.db'}"
            results["credit_levels_sqlite"] = run_credit_levels_bench(
                credit_url, args.credit_parties
            )
            print("credit levels (SQLite):", json.dumps(results["credit_levels_sqlite"]))
            if os.environ.get(POSTGRES_ENV) and not args.skip_postgres:
                with postgres_database("jiasao_bench_credit_levels") as credit_url:
                    results["credit_levels_postgres"] = run_credit_levels_bench(
                        credit_url, args.credit_parties
                    )
                print("credit levels (PostgreSQL):", json.dumps(results["credit_levels_postgres"]))
        if args.feed_workers:
            from bench.feed import feed_line, run_feed_bench

            n = args.feed_workers
            feed_url = f"sqlite+aiosqlite:///{Path(scratch) / 'feed-bench' / 'registry.db'}"
            results["feed_sqlite"] = run_feed_bench(feed_url, n)
            print(feed_line("sqlite", results["feed_sqlite"], n), flush=True)
            if os.environ.get(POSTGRES_ENV) and not args.skip_postgres:
                with postgres_database("jiasao_bench_feed") as feed_url:
                    results["feed_postgres"] = run_feed_bench(feed_url, n)
                print(feed_line("postgresql", results["feed_postgres"], n), flush=True)
        if args.match_sizes:
            from bench.matching import run_match_bench

            backends = ["sqlite"]
            if os.environ.get(POSTGRES_ENV) and not args.skip_postgres:
                backends.append("postgresql")
            results["match"] = run_match_bench(backends, args.match_sizes)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
