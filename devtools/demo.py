"""``make demo``: load a demo dataset into a RUNNING platform, through the gateway's public API.

    make run                                   # in one terminal
    make demo                                  # in another (or: python -m devtools.demo)
    python -m devtools.demo --gateway http://127.0.0.1:8000 --workers 3000

It makes the officers' dashboard and the brand pages meaningful: several thousand workers
across the eight counties (the registry's bulk import), companies and training institutions,
courses in the four tracks with enrolments and completions (certificates, and home-service
cards for workers who meet every condition, follow by events), subsidy claims, demonstration
training bases, a skill competition (技术能手), employers and a partner platform of Guangzhou
and Shenzhen posting jobs, applications, hires and engagements, job fairs, employer reviews,
complaints, and the brand's cases with photos, county brands and 百户十强 companies.

Credentials (development only): the demo bootstraps its admin with the registry's own
``create-admin`` command on the local database of ``--var-dir`` (the embedded ``make run``
setup), with a generated password kept in ``<var>/secrets/demo_admin.json`` (mode 0600); every
other demo account is made by that admin through ``POST /api/v1/accounts`` with the generated
password of that file. Against any other deployment, give an existing admin with
``JIASAO_DEMO_ADMIN_PHONE`` and ``JIASAO_DEMO_ADMIN_PASSWORD``.

A rerun does not fail: the imports are idempotent, existing accounts and parties are reused,
and new activity (enrolments, jobs, hires …) is added on top.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from devtools.demo_client import Actor, DemoError, Session, bootstrap_admin


def _parse(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__)
    default_gateway = env.get("JIASAO_GATEWAY_URL") or (
        f"http://127.0.0.1:{env.get('GATEWAY_PORT') or 8000}"
    )
    parser.add_argument(
        "--gateway",
        default=default_gateway,
        help="the gateway URL `make run` printed (JIASAO_GATEWAY_URL, http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--var-dir",
        type=Path,
        default=Path(env.get("JIASAO_VAR_DIR") or "var"),
        help="the platform's var dir, for the dev admin bootstrap (JIASAO_VAR_DIR, ./var)",
    )
    parser.add_argument("--workers", type=int, default=3000, help="workers to import (3000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (8)")
    args = parser.parse_args(argv)
    if args.workers < 50:
        parser.error("--workers must be at least 50")
    return args


async def run(args: argparse.Namespace) -> dict[str, int]:
    from devtools import demo_market, demo_steps

    credentials = bootstrap_admin(args.var_dir)
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(base_url=args.gateway, timeout=60, limits=limits) as http:
        try:
            await http.get("/readyz")
        except httpx.HTTPError as exc:
            raise DemoError(f"no gateway at {args.gateway} ({exc}); start it: make run") from exc
        session = Session(http, credentials, Actor(http, "admin"), concurrency=args.concurrency)
        session.admin = await session.login(
            "admin", credentials.admin_phone, credentials.admin_password
        )
        state: dict[str, Any] = {"workers": args.workers}
        for step in (*demo_steps.STEPS, *demo_market.STEPS):
            started = time.monotonic()
            await step(session, state)
            print(f"  {step.__name__.removeprefix('step_'):<22} {time.monotonic() - started:5.1f}s")
        return session.created


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.monotonic()
    print(f"[demo] loading demo data into {args.gateway} ({args.workers} workers)", flush=True)
    try:
        created = asyncio.run(run(args))
    except DemoError as exc:
        print(f"[demo] failed: {exc}", file=sys.stderr)
        return 1
    print(f"[demo] done in {time.monotonic() - started:.0f}s; created:")
    for what, n in sorted(created.items()):
        print(f"  {n:>6}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
