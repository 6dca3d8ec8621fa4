"""Event-chain benchmark: training completions until the candidate shows the certificate.

A chain: a completion (training) → the certificate is issued (credit) → the candidate read
model shows it (matching). Two figures, each printed on one line:

- ``chain paced <db> 200/s: p50 X ms p99 Y ms``: workers are registered, enrolled and given a
  result over HTTP first, and the platform is left to work through the events that caused
  (until its processes use under 0.1 core); then their completions are sent at a steady
  200/s (open loop) and each chain's latency runs from the completion's HTTP response to the
  moment matching recorded the certificate (``recorded_at``; same host clock). A warm-up round
  at the same rate runs first and is reported on its own line, not in the figure: the first
  events of a fresh platform pay for its connection pools, prepared statements and
  SQLAlchemy's compiled cache (as the gateway benchmark warms up before measuring).
- ``chain drain <db>: N chains/s``: 10,000 completed enrolments and their events are committed
  in training's database in one transaction (as if training had completed them while the rest
  of the chain was away); the figure is 10,000 over the time until matching shows every
  certificate. Training's relay finds them on its next poll (≤ 1 s, included).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, insert, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.training import EnrollmentCompleted
from services.kit.db import Database
from services.kit.idnumbers import make_id_card
from services.kit.outbox import publish_many
from services.matching.models import CandidateCertificate
from services.training.models import Enrollment

candidate_certificates = CandidateCertificate.__table__
enrollments = Enrollment.__table__


def id_card_for(index: int) -> str:
    birth = date(1970, 1, 1) + timedelta(days=index % 12000)
    return make_id_card("441202", birth, f"{index // 12000 % 1000:03d}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class ChainClient:
    def __init__(self, session: aiohttp.ClientSession, base: str, headers: dict[str, str]):
        self.session = session
        self.base = base
        self.headers = headers

    async def call(self, method: str, path: str, body: Any = None, ok: int = 200) -> Any:
        async with self.session.request(
            method, self.base + path, json=body, headers=self.headers
        ) as response:
            payload = await response.json(content_type=None)
            if response.status != ok:
                raise RuntimeError(f"{method} {path} → {response.status}: {payload}")
            return payload

    async def until(self, method: str, path: str, body: Any = None, ok: int = 200) -> Any:
        """Retry while a service has not yet heard of a party (eventual consistency)."""
        for _ in range(400):
            try:
                return await self.call(method, path, body, ok)
            except RuntimeError as exc:
                if "unknown-worker" not in str(exc):
                    raise
                await asyncio.sleep(0.025)
        raise RuntimeError(f"{path}: the worker never reached training")


async def wait_recorded(
    database_url: str, worker_ids: list[str], timeout: float
) -> dict[str, datetime]:
    """When matching recorded each worker's certificate (its ``recorded_at``), once all have."""
    engine = create_async_engine(database_url)
    wanted = [uuid.UUID(w) for w in worker_ids]
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with engine.connect() as connection:
                rows = (
                    await connection.execute(
                        select(
                            candidate_certificates.c.worker_id, candidate_certificates.c.recorded_at
                        ).where(candidate_certificates.c.worker_id.in_(wanted))
                    )
                ).all()
            if len(rows) >= len(wanted) or time.monotonic() > deadline:
                return {str(r.worker_id): _aware(r.recorded_at) for r in rows}
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def run_chain_bench(
    gateway_url: str,
    headers: dict[str, str],
    matching_database_url: str,
    count: int = 1000,
    concurrency: int = 16,
    rate: float = 200.0,
    warmup: int = 300,
    drain_count: int | None = None,
    pids: dict[str, int] | None = None,
    databases: Sequence[str] = (),
) -> dict[str, Any]:
    """Both figures on one platform; prints their lines and returns the details.

    With ``pids`` (name → process id) the drain also reports each process's CPU per chain,
    and with ``databases`` (PostgreSQL database names) that of their server backends."""
    # JIASAO_BENCH_DRAIN shortens the drain for a quick look (the figure is 10,000).
    drain_count = drain_count or int(os.environ.get("JIASAO_BENCH_DRAIN", "10000"))
    db = (
        "sqlite" if make_url(matching_database_url).get_backend_name() == "sqlite" else "postgresql"
    )
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency * 4)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        client = ChainClient(session, gateway_url, headers)
        course = await create_course(client)
        if warmup:
            warm = await run_paced(
                client, matching_database_url, await prepare(client, course["id"], warmup, 16), rate
            )
            print(
                f"chain paced {db} {rate:g}/s warm-up ({warmup}, not the figure): "
                f"p50 {warm['latency_p50_ms']:.1f} ms p99 {warm['latency_p99_ms']:.1f} ms",
                flush=True,
            )
        prepared = await prepare(client, course["id"], count, concurrency)
        if pids:
            # Registering, enrolling and scoring the workers left a backlog of events behind
            # (files opened, card facts, read models): the figure is the chain's, so it waits
            # until the platform has worked through them.
            waited = await wait_until_idle(list(pids.values()))
            print(f"chain paced {db}: the platform went idle {waited:.1f} s after preparing")
        # The load generator's own CPU too: it shares the machine with the platform.
        paced_pids = {**(pids or {}), "bench": os.getpid()} if pids else {}
        cpu_before = await cpu_by_process(matching_database_url, paced_pids, databases)
        paced = await run_paced(client, matching_database_url, prepared, rate)
        cpu_after = await cpu_by_process(matching_database_url, paced_pids, databases)
    paced["cpu_ms_per_chain"] = _per_chain(cpu_before, cpu_after, paced["delivered"])
    print(
        f"chain paced {db} {rate:g}/s: p50 {paced['latency_p50_ms']:.1f} ms"
        f" p99 {paced['latency_p99_ms']:.1f} ms",
        flush=True,
    )
    if paced["cpu_ms_per_chain"]:
        shares = " ".join(f"{k} {v:.3f}" for k, v in paced["cpu_ms_per_chain"].items())
        print(f"chain paced {db} CPU ms per chain: {shares}", flush=True)
    results: dict[str, Any] = {"paced": paced}
    training_url = await training_database_url(matching_database_url)
    if training_url is None:
        print(f"chain drain {db}: skipped (training database not found)", flush=True)
        return results
    drain = await run_drain(
        training_url, matching_database_url, course, drain_count, pids or {}, databases
    )
    print(f"chain drain {db}: {drain['chains_per_s']:.0f} chains/s", flush=True)
    if drain.get("cpu_ms_per_chain"):
        shares = " ".join(f"{k} {v:.3f}" for k, v in drain["cpu_ms_per_chain"].items())
        print(f"chain drain {db} CPU ms per chain: {shares}", flush=True)
    results["drain"] = drain
    return results


async def create_course(client: ChainClient) -> Any:
    stamp = int(time.time()) % 100000
    return await client.call(
        "POST",
        "/api/v1/courses",
        {
            "title": f"Bench maternal care {stamp}",
            "track": "maternal_infant",
            "training_type": "pre_job",
            "hours": 40,
            "pass_score": 60,
        },
        ok=201,
    )


async def prepare(
    client: ChainClient, course_id: str, count: int, concurrency: int
) -> list[tuple[str, str]]:
    """Register, enrol and record a passing result for ``count`` workers over HTTP."""
    gate = asyncio.Semaphore(concurrency)
    offset = int(time.time()) % 100000 * 1000

    async def one(i: int) -> tuple[str, str]:
        async with gate:
            worker = await client.call(
                "POST",
                "/api/v1/workers",
                {
                    "name": f"测试家嫂{i}",
                    "id_card_number": id_card_for(offset + i),
                    "phone": f"139{(offset + i) % 100_000_000:08d}",
                    "county": "duanzhou",
                    "tracks": ["maternal_infant"],
                },
                ok=201,
            )
            enrollment = await client.until(
                "POST",
                "/api/v1/enrollments",
                {"course_id": course_id, "worker_id": worker["id"]},
                ok=201,
            )
            await client.call(
                "POST",
                f"/api/v1/enrollments/{enrollment['id']}/result",
                {"score": 88, "hours_attended": 40},
            )
            return worker["id"], enrollment["id"]

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def run_paced(
    client: ChainClient, matching_url: str, prepared: list[tuple[str, str]], rate: float
) -> dict[str, Any]:
    """Completions sent at ``rate``/s whatever the answers take (open loop)."""
    completed_at: dict[str, datetime] = {}
    started = time.perf_counter()

    async def complete(index: int, worker_id: str, enrollment_id: str) -> None:
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        await client.call("POST", f"/api/v1/enrollments/{enrollment_id}/complete")
        completed_at[worker_id] = datetime.now(UTC)

    await asyncio.gather(*(complete(i, w, e) for i, (w, e) in enumerate(prepared)))
    sent_s = time.perf_counter() - started
    recorded = await wait_recorded(matching_url, [w for w, _ in prepared], timeout=120)
    latencies = [(at - completed_at[w]).total_seconds() * 1000 for w, at in recorded.items()]
    return {
        "completions": len(prepared),
        "delivered": len(recorded),
        "achieved_rate_per_s": round(len(prepared) / sent_s, 1),
        "latency_p50_ms": round(percentile(latencies, 0.5), 1),
        "latency_p99_ms": round(percentile(latencies, 0.99), 1),
        "latency_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }


async def run_drain(
    training_url: str,
    matching_url: str,
    course: dict[str, Any],
    count: int,
    pids: dict[str, int] | None = None,
    databases: Sequence[str] = (),
) -> dict[str, Any]:
    """``count`` completions committed at once in training; time until matching has them all."""
    before = await certificate_count(matching_url)
    training = Database(training_url)
    try:
        now = datetime.now(UTC)
        rows = [
            {
                "id": uuid.uuid4(),
                "course_id": uuid.UUID(course["id"]),
                "worker_id": uuid.uuid4(),
                "status": "completed",
                "score": 88.0,
                "hours_attended": 40.0,
                "passed": True,
                "version": 3,
                "enrolled_at": now,
                "result_recorded_at": now,
                "completed_at": now,
                "updated_at": now,
            }
            for _ in range(count)
        ]
        events = [
            EnrollmentCompleted(
                enrollment_id=str(row["id"]),
                worker_id=str(row["worker_id"]),
                course_id=course["id"],
                course_title=course["title"],
                track=course["track"],
                training_type=course["training_type"],
                hours=40.0,
                score=88.0,
                passed=True,
                completed_at=now,
            )
            for row in rows
        ]
        async with training.write() as session:
            await session.execute(insert(enrollments), rows)
            await publish_many(session, events)
        started = time.perf_counter()
        cpu_before = await cpu_by_process(matching_url, pids or {}, databases)
    finally:
        await training.dispose()
    engine = create_async_engine(matching_url)
    try:
        while True:
            async with engine.connect() as connection:
                seen = int(
                    await connection.scalar(
                        select(func.count()).select_from(candidate_certificates)
                    )
                    or 0
                )
            elapsed = time.perf_counter() - started
            if seen - before >= count or elapsed > 600:
                break
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    cpu_after = await cpu_by_process(matching_url, pids or {}, databases)
    delivered = seen - before
    per_chain = _per_chain(cpu_before, cpu_after, delivered)
    return {
        "completions": count,
        "delivered": delivered,
        "seconds": round(elapsed, 3),
        "chains_per_s": round(delivered / elapsed, 1),
        "cpu_ms_per_chain": per_chain,
    }


def _per_chain(before: dict[str, float], after: dict[str, float], chains: int) -> dict[str, float]:
    """CPU milliseconds per chain of each process between two readings."""
    return {
        name: round((after[name] - before.get(name, 0.0)) * 1000 / max(chains, 1), 3)
        for name in after
    }


async def wait_until_idle(
    pids: Sequence[int], *, cores: float = 0.1, interval: float = 0.5, timeout: float = 120.0
) -> float:
    """Seconds until ``pids`` together use under ``cores`` of CPU over ``interval``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(interval)
        if sum(cpu_seconds(pid) for pid in pids) - before < cores * interval:
            break
    return time.monotonic() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_by_process(
    any_url: str, pids: dict[str, int], databases: Sequence[str]
) -> dict[str, float]:
    """CPU seconds so far of each named process and, summed, of the PostgreSQL backends
    serving ``databases`` (same host; a backend that ended meanwhile is not counted)."""
    totals = {name: cpu_seconds(pid) for name, pid in pids.items()}
    if databases and make_url(any_url).get_backend_name() != "sqlite":
        engine = create_async_engine(any_url)
        try:
            async with engine.connect() as connection:
                backends = (
                    await connection.execute(
                        text("SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY(:d)"),
                        {"d": list(databases)},
                    )
                ).all()
        finally:
            await engine.dispose()
        for pid, datname in backends:
            key = "postgres:" + str(datname).split("_")[2]
            totals[key] = totals.get(key, 0.0) + cpu_seconds(int(pid))
    return totals


async def certificate_count(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await _count(connection)
    finally:
        await engine.dispose()


async def _count(connection: Any) -> int:
    query = select(func.count()).select_from(candidate_certificates)
    return int(await connection.scalar(query) or 0)


async def training_database_url(matching_url: str) -> str | None:
    """Training's database beside matching's: the sibling file, or the live bench database."""
    url = make_url(matching_url)
    if url.get_backend_name() == "sqlite":
        path = str(url.database or "")
        sibling = path.rsplit("/", 1)[0] + "/training.db"
        return url.set(database=sibling).render_as_string(hide_password=False)
    # The bench names its PostgreSQL databases jiasao_bench_<service>_<random>; the live one
    # is the one the training service is connected to.
    engine = create_async_engine(matching_url)
    try:
        async with engine.connect() as connection:
            name = await connection.scalar(
                text(
                    "SELECT datname FROM pg_stat_activity WHERE datname LIKE :prefix"
                    " GROUP BY datname ORDER BY max(backend_start) DESC LIMIT 1"
                ),
                {"prefix": "jiasao_bench_training_%"},
            )
    finally:
        await engine.dispose()
    return None if name is None else url.set(database=name).render_as_string(hide_password=False)
