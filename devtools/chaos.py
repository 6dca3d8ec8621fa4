"""``make chaos``: a bounded chain workload while a driver kill -9s the platform's processes.

The workload registers workers, enrols them, records a passing result and completes the
enrolment (four operations per chain) through the gateway; every POST carries an
``Idempotency-Key`` and is retried until it is answered, as a real client on a flaky network
would. Meanwhile a driver thread kills (SIGKILL) and restarts, in turn, each service, the
process holding training's relay lease, and nats-server. Afterwards it waits for the platform
to settle and checks the databases: every passed completion has exactly one certificate in
credit and exactly one candidate entry with it in matching, and no event is dead-lettered.

Prints ``chaos: N operations, K kills, lost L, doubled D`` and exits non-zero when L or D > 0
or anything was dead-lettered. ``--chains`` bounds the workload (default 500 = 2,000 operations).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from devtools.platform import Platform
from devtools.platform_config import PlatformConfig
from services.kit.auth import SigningKeys, TokenIssuer
from services.kit.idnumbers import make_id_card
from services.kit.settings import SERVICES, PlatformSettings

#: Answers worth retrying: the service (or the gateway's upstream) is restarting.
RETRY_STATUSES = {429, 502, 503, 504}


@dataclass
class Tally:
    operations: int = 0
    kills: int = 0
    killed: list[str] = field(default_factory=list)


def admin_headers(var_dir: Path) -> dict[str, str]:
    keys = SigningKeys.load(var_dir / "secrets" / "jwt_keys.json")
    settings = PlatformSettings()
    token, _ = TokenIssuer(
        keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=3600
    ).issue(subject="chaos", role="admin")
    return {"Authorization": f"Bearer {token}"}


class Client:
    """POSTs with an Idempotency-Key, retried until answered (or ``deadline_s`` passes)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, headers: dict[str, str]):
        self.session = session
        self.base = base
        self.headers = headers

    async def post(self, path: str, body: Any, *, key: str, ok: tuple[int, ...]) -> Any:
        deadline = time.monotonic() + 180
        refused = 0
        while True:
            try:
                # A refusal changed nothing and is replayed for its key: ask anew with a new key.
                sent_key = f"{key}-{refused}"
                async with self.session.post(
                    self.base + path,
                    json=body,
                    headers={**self.headers, "Idempotency-Key": sent_key},
                ) as response:
                    payload = await response.json(content_type=None)
                    if response.status in ok:
                        return payload
                    if response.status == 422 and "unknown-worker" in str(payload):
                        refused += 1  # training has not heard of the worker yet
                    elif response.status not in RETRY_STATUSES:
                        raise RuntimeError(f"POST {path} → {response.status}: {payload}")
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass  # the gateway or the service is down for a moment
            if time.monotonic() > deadline:
                raise RuntimeError(f"POST {path}: no answer within the deadline")
            await asyncio.sleep(0.2)

    async def open_enrollment(self, worker_id: str, course_id: str) -> Any:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                async with self.session.get(
                    f"{self.base}/api/v1/enrollments",
                    params={"worker_id": worker_id},
                    headers=self.headers,
                ) as response:
                    if response.status == 200:
                        for item in (await response.json())["items"]:
                            if item["course_id"] == course_id:
                                return item
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the enrolment of {worker_id} never showed")


async def workload(gateway: str, headers: dict[str, str], chains: int, tally: Tally) -> None:
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = Client(session, gateway, headers)
        run = uuid.uuid4().hex[:8]
        course = await client.post(
            "/api/v1/courses",
            {
                "title": f"Chaos care {run}",
                "track": "maternal_infant",
                "training_type": "pre_job",
                "hours": 40,
                "pass_score": 60,
            },
            key=f"chaos-{run}-course",
            ok=(201,),
        )
        gate = asyncio.Semaphore(8)
        base = int(run, 16) % 1000 * 10_000

        async def chain(i: int) -> None:
            async with gate:
                id_card = make_id_card(
                    "441202", _birth(base + i), f"{(base + i) // 12000 % 1000:03d}"
                )
                worker = await client.post(
                    "/api/v1/workers",
                    {
                        "name": f"混沌家嫂{i}",
                        "id_card_number": id_card,
                        "phone": f"137{(base + i) % 100_000_000:08d}",
                        "county": "duanzhou",
                        "tracks": ["maternal_infant"],
                    },
                    key=f"chaos-{run}-w{i}",
                    ok=(201, 409),
                )
                if "id" not in worker:
                    # Registered by an attempt whose answer was lost when the registry died
                    # (its idempotency record died with it): find the worker instead.
                    worker = await client.post(
                        "/api/v1/workers/lookup",
                        {"id_card_number": id_card},
                        key=f"chaos-{run}-l{i}",
                        ok=(200,),
                    )
                enrollment = await client.post(
                    "/api/v1/enrollments",
                    {"course_id": course["id"], "worker_id": worker["id"]},
                    key=f"chaos-{run}-e{i}",
                    ok=(201, 409),
                )
                if "id" not in enrollment:  # enrolled by an attempt whose answer was lost
                    enrollment = await client.open_enrollment(worker["id"], course["id"])
                path = f"/api/v1/enrollments/{enrollment['id']}"
                await client.post(
                    f"{path}/result",
                    {"score": 88, "hours_attended": 40},
                    key=f"chaos-{run}-r{i}",
                    ok=(200,),
                )
                # 409: completed by an attempt whose answer was lost.
                await client.post(f"{path}/complete", None, key=f"chaos-{run}-c{i}", ok=(200, 409))
                tally.operations += 4

        await asyncio.gather(*(chain(i) for i in range(chains)))


def _birth(index: int) -> date:
    return date(1970, 1, 1) + timedelta(days=index % 12000)


def relay_holder(var_dir: Path, platform: Platform) -> str:
    """The service whose process holds training's relay lease (the chain's first hop)."""
    with sqlite3.connect(var_dir / "training.db") as conn:
        row = conn.execute("SELECT holder FROM kit_relay_lease WHERE name = 'outbox'").fetchone()
    if row:
        pid = int(str(row[0]).split(":")[1])
        for name, proc_pid in platform.pids().items():
            if proc_pid == pid:
                return name
    return "training"


def driver(platform: Platform, var_dir: Path, done: threading.Event, tally: Tally) -> None:
    """kill -9 each service, the relay holder and nats-server in turn, until ``done``."""
    victims = [*SERVICES, "relay-holder", "nats"]
    turn = 0
    # At least one whole round, however quickly the workload ends.
    while not done.wait(1.5) or turn < len(victims):
        victim = victims[turn % len(victims)]
        name = relay_holder(var_dir, platform) if victim == "relay-holder" else victim
        try:
            platform.restart(name, crash=True)
        except Exception as exc:  # a restart that fails ends the run as a failure
            print(f"chaos: restarting {name} failed: {exc}", file=sys.stderr, flush=True)
            raise
        tally.kills += 1
        tally.killed.append(name)
        turn += 1


def count(var_dir: Path) -> tuple[int, int, int, int]:
    """(passed completions, lost, doubled, dead letters) from the service databases."""
    with sqlite3.connect(var_dir / "training.db") as conn:
        passed = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT id, worker_id FROM enrollments WHERE status = 'completed' AND passed"
            )
        }
    with sqlite3.connect(var_dir / "credit.db") as conn:
        certificates: dict[str, list[str]] = {}
        for enrollment_id, certificate_id in conn.execute(
            "SELECT enrollment_id, id FROM certificates WHERE enrollment_id IS NOT NULL"
        ):
            certificates.setdefault(enrollment_id, []).append(certificate_id)
    with sqlite3.connect(var_dir / "matching.db") as conn:
        entries: dict[str, int] = {}
        for (certificate_id,) in conn.execute("SELECT certificate_id FROM candidate_certificates"):
            entries[certificate_id] = entries.get(certificate_id, 0) + 1
        candidates = dict(conn.execute("SELECT worker_id, count(*) FROM candidates GROUP BY 1"))
    lost = doubled = 0
    for enrollment_id, worker_id in passed.items():
        issued = certificates.get(enrollment_id, [])
        if len(issued) != 1:
            lost += not issued
            doubled += len(issued) > 1
            continue
        shown = entries.get(issued[0], 0)
        lost += shown == 0
        doubled += shown > 1 or candidates.get(worker_id, 0) > 1
    dead = 0
    for name in SERVICES:
        with sqlite3.connect(var_dir / f"{name}.db") as conn:
            dead += conn.execute(
                "SELECT count(*) FROM kit_dead_letters WHERE replayed_at IS NULL"
            ).fetchone()[0]
    return len(passed), lost, doubled, dead


def run(chains: int, var_dir: Path, settle_s: float = 120.0) -> tuple[Tally, int, int, int, int]:
    tally = Tally()
    with Platform(PlatformConfig.with_free_ports(var_dir)) as platform:
        headers = admin_headers(var_dir)
        done = threading.Event()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                asyncio.run(workload(platform.gateway_url, headers, chains, tally))
            except BaseException as exc:
                errors.append(exc)
            finally:
                done.set()

        # The workload runs in a thread and the driver here: children die with the thread
        # that started them (PR_SET_PDEATHSIG), so restarts must come from the main thread.
        thread = threading.Thread(target=work, name="chaos-workload", daemon=True)
        thread.start()
        driver(platform, var_dir, done, tally)
        thread.join()
        if errors:
            raise errors[0]
        deadline = time.monotonic() + settle_s
        while True:  # events still in flight after the last restart
            passed, lost, doubled, dead = count(var_dir)
            if (lost == 0 and passed >= chains) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    return tally, passed, lost, doubled, dead


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.chaos")
    parser.add_argument("--chains", type=int, default=500, help="4 operations each")
    parser.add_argument("--var-dir", type=Path, help="keep the databases and logs here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jiasao-chaos-") as scratch:
        var_dir = args.var_dir or Path(scratch) / "var"
        tally, passed, lost, doubled, dead = run(args.chains, var_dir)
    kills = Counter(tally.killed)
    print("chaos: kills " + ", ".join(f"{name} {n}" for name, n in kills.items()), flush=True)
    print(f"chaos: {passed} passed completions, {dead} dead-lettered", flush=True)
    print(
        f"chaos: {tally.operations} operations, {tally.kills} kills, lost {lost}, "
        f"doubled {doubled}",
        flush=True,
    )
    return 1 if lost or doubled or dead or passed < args.chains else 0


if __name__ == "__main__":
    sys.exit(main())
