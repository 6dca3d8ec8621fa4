"""Event-chain benchmark: training completions until the candidate shows the certificate.

For N workers: register (registry) → enrol, record a result, complete (training) → the
certificate is issued (credit) → the candidate read model shows it (matching). Reports
completions/s (HTTP side), chain throughput and end-to-end latency p50/p99, measured from the
completion's HTTP response to the moment matching recorded the certificate for the candidate.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from services.kit.idnumbers import make_id_card
from services.matching.models import CandidateCertificate

candidate_certificates = CandidateCertificate.__table__


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
    count: int = 200,
    concurrency: int = 16,
    paced_count: int = 30,
) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        client = ChainClient(session, gateway_url, headers)
        stamp = int(time.time()) % 100000
        course = await client.call(
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
        gate = asyncio.Semaphore(concurrency)
        offset = stamp * 1000

        async def prepare(i: int) -> tuple[str, str]:
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
                    {"course_id": course["id"], "worker_id": worker["id"]},
                    ok=201,
                )
                await client.call(
                    "POST",
                    f"/api/v1/enrollments/{enrollment['id']}/result",
                    {"score": 88, "hours_attended": 40},
                )
                return worker["id"], enrollment["id"]

        prepared = await asyncio.gather(*(prepare(i) for i in range(count)))
        completed_at: dict[str, datetime] = {}

        async def complete(worker_id: str, enrollment_id: str) -> None:
            async with gate:
                await client.call("POST", f"/api/v1/enrollments/{enrollment_id}/complete")
            completed_at[worker_id] = datetime.now(UTC)

        # Paced: one completion at a time, each waited for, gives the chain's own latency.
        paced, burst = prepared[:paced_count], prepared[paced_count:]
        for worker_id, enrollment_id in paced:
            await complete(worker_id, enrollment_id)
            await wait_recorded(matching_database_url, [worker_id], timeout=60)
        paced_recorded = await wait_recorded(
            matching_database_url, [w for w, _ in paced], timeout=60
        )
        # Burst: all the rest at once (16 in flight), for throughput and latency under load.
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(complete(w, e) for w, e in burst)), 300)
        accepted = time.perf_counter() - started
        # Watch the matching database itself rather than polling its API: hundreds of pollers
        # would compete with the chain for the same two cores and measure themselves.
        burst_ids = [w for w, _ in burst]
        recorded = await wait_recorded(matching_database_url, burst_ids, timeout=300)
        elapsed = time.perf_counter() - started

    def latencies(seen: dict[str, datetime]) -> list[float]:
        return [(at - completed_at[w]).total_seconds() * 1000 for w, at in seen.items()]

    paced_ms, burst_ms = latencies(paced_recorded), latencies(recorded)
    return {
        "paced": {
            "completions": len(paced),
            "latency_p50_ms": round(percentile(paced_ms, 0.5), 1),
            "latency_p99_ms": round(percentile(paced_ms, 0.99), 1),
        },
        "burst": {
            "completions": len(burst),
            "delivered": len(recorded),
            "seconds": round(elapsed, 3),
            "completions_per_s": round(len(burst) / accepted, 1),
            "chain_per_s": round(len(recorded) / elapsed, 1),
            "latency_p50_ms": round(percentile(burst_ms, 0.5), 1),
            "latency_p99_ms": round(percentile(burst_ms, 0.99), 1),
            "latency_mean_ms": round(statistics.fmean(burst_ms), 1),
        },
    }
