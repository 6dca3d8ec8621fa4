"""Event-chain benchmark: training completions until the candidate shows the certificate.

For N workers: register (registry) → enrol, record a result, complete (training) → the
certificate is issued (credit) → the candidate read model shows it (matching). Reports
completions/s (HTTP side), chain throughput and end-to-end latency p50/p99, measured from the
completion's HTTP response to the first poll of the candidate that lists the certificate.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import date, timedelta
from typing import Any

import aiohttp

from services.kit.idnumbers import make_id_card


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


async def run_chain_bench(
    gateway_url: str, headers: dict[str, str], count: int = 200, concurrency: int = 16
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
        latencies: list[float] = []
        accepted: list[float] = []

        async def complete(worker_id: str, enrollment_id: str) -> None:
            async with gate:
                await client.call("POST", f"/api/v1/enrollments/{enrollment_id}/complete")
            done_at = time.perf_counter()
            accepted.append(done_at)
            while True:
                async with session.get(
                    f"{gateway_url}/api/v1/candidates/{worker_id}", headers=headers
                ) as response:
                    if response.status == 200:
                        candidate = await response.json()
                        if candidate.get("certificates"):
                            latencies.append(time.perf_counter() - done_at)
                            return
                await asyncio.sleep(0.01)

        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(complete(w, e) for w, e in prepared)), 300)
        elapsed = time.perf_counter() - started
    return {
        "completions": count,
        "seconds": round(elapsed, 3),
        "completions_per_s": round(count / (max(accepted) - started), 1),
        "chain_per_s": round(count / elapsed, 1),
        "latency_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }
