"""Gateway forwarding benchmark: requests/s through the gateway vs straight to a service.

Against a running platform (use a path the gateway *forwards*, e.g. ``/.well-known/jwks.json``;
the gateway answers ``/healthz`` itself, so that path measures its own stack only)::

    python -m bench.gateway --gateway http://127.0.0.1:8000 --direct http://127.0.0.1:8001 \\
        --path /healthz

Self-contained (starts a trivial upstream and the gateway under uvicorn in subprocesses on free
ports, then measures a forwarded healthz-like GET)::

    python -m bench.gateway --spawn

The target is a ratio (gateway / direct) of at least 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from devtools.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
#: Forwarded by the gateway (matching owns /jobs) and served by the trivial upstream.
SPAWN_PATH = "/api/v1/jobs/ping"


async def _load(
    url: str,
    seconds: float,
    concurrency: int,
    max_requests: int | None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, float | int]:
    """``concurrency`` keep-alive clients hitting ``url`` until the time or count runs out."""
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    loop = asyncio.get_running_loop()
    ok = errors = 0
    async with aiohttp.ClientSession(
        connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        deadline = loop.time() + seconds

        async def client() -> None:
            nonlocal ok, errors
            while loop.time() < deadline and (max_requests is None or ok + errors < max_requests):
                try:
                    async with session.get(url, headers=headers) as resp:
                        await resp.read()
                        if resp.status < 400:
                            ok += 1
                        else:
                            errors += 1
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1

        started = loop.time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = loop.time() - started
    return {
        "requests": ok,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": round(ok / elapsed, 1) if elapsed else 0.0,
    }


async def run_gateway_bench(
    gateway_url: str,
    direct_url: str,
    path: str,
    seconds: float,
    concurrency: int,
    *,
    max_requests: int | None = None,
    warmup: float = 1.0,
    rounds: int = 3,
    pids: Mapping[str, int] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Requests/s for ``path`` straight to the service and through the gateway, and the ratio.

    Each side is warmed up (connections opened, code paths hot), then measured alone, so the two
    never compete for CPU. ``seconds`` (and ``max_requests``) are split over ``rounds``
    alternating direct/gateway runs, so a change in background load affects both sides alike.
    With ``pids`` (name → process id, Linux), the CPU each process spent per request is reported
    too: unlike requests/s, it hardly depends on what else the machine is running.
    """
    urls = {
        "direct": direct_url.rstrip("/") + path,
        "gateway": gateway_url.rstrip("/") + path,
    }
    rounds = max(1, rounds)
    per_round = seconds / rounds
    per_round_max = None if max_requests is None else max(1, max_requests // rounds)
    if warmup > 0:
        for url in urls.values():
            await _load(url, warmup, concurrency, None, headers)
    totals = {name: {"requests": 0, "errors": 0, "seconds": 0.0} for name in urls}
    per_round_rps: dict[str, list[float]] = {name: [] for name in urls}
    cpu = {name: dict.fromkeys(pids or {}, 0.0) for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            before = {proc: _cpu_seconds(pid) for proc, pid in (pids or {}).items()}
            stats = await _load(url, per_round, concurrency, per_round_max, headers)
            for proc, pid in (pids or {}).items():
                cpu[name][proc] += _cpu_seconds(pid) - before[proc]
            per_round_rps[name].append(stats["rps"])
            for key in ("requests", "errors", "seconds"):
                totals[name][key] += stats[key]
    results: dict[str, Any] = {"path": path, "concurrency": concurrency, "rounds": rounds}
    for name, total in totals.items():
        rps = total["requests"] / total["seconds"] if total["seconds"] else 0.0
        results[name] = {**total, "seconds": round(total["seconds"], 3), "rps": round(rps, 1)}
        results[name]["rps_per_round"] = per_round_rps[name]
        if pids and total["requests"]:
            results[name]["cpu_us_per_request"] = {
                proc: round(spent / total["requests"] * 1e6) for proc, spent in cpu[name].items()
            }
    results["direct_rps"] = results["direct"]["rps"]
    results["gateway_rps"] = results["gateway"]["rps"]
    results["ratio"] = (
        round(results["gateway_rps"] / results["direct_rps"], 3) if results["direct_rps"] else 0.0
    )
    return results


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trivial_upstream() -> Any:
    """A service-shaped app (FastAPI + the kit's request-context middleware) with one cheap GET."""
    from fastapi import FastAPI

    from services.kit.middleware import RequestContextMiddleware

    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.get("/healthz")
    @app.get(SPAWN_PATH)
    async def ping() -> dict[str, str]:
        return {"status": "alive"}

    return app


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def spawned_platform() -> Iterator[tuple[str, str, dict[str, int]]]:
    """A trivial upstream and the gateway, each in a subprocess: their URLs and process ids."""
    upstream_port, gateway_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JIASAO_LOG_LEVEL": "WARNING"}
    for name in ("registry", "training", "credit", "rating", "matching"):
        env[f"GATEWAY_{name.upper()}_URL"] = upstream_url
    upstream_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.gateway:trivial_upstream",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(upstream_port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    gateway_cmd = [sys.executable, "-m", "gateway", "serve", "--port", str(gateway_port)]
    procs = [subprocess.Popen(upstream_cmd, cwd=ROOT, env=env)]
    try:
        _wait_until_up(f"{upstream_url}/healthz", procs[0])
        procs.append(subprocess.Popen(gateway_cmd, cwd=ROOT, env=env))
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        _wait_until_up(f"{gateway_url}/healthz", procs[1])
        yield gateway_url, upstream_url, {"gateway": procs[1].pid, "upstream": procs[0].pid}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_load(coro: Coroutine[Any, Any, T]) -> T:
    """Run a load-generating coroutine on uvloop when available: the load generator shares the
    CPU with what it measures, so its overhead is kept low."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(coro)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--direct", default="http://127.0.0.1:8001")
    parser.add_argument(
        "--path", default=None, help=f"default /healthz ({SPAWN_PATH} with --spawn)"
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="alternating direct/gateway runs")
    parser.add_argument("--spawn", action="store_true", help="start upstream + gateway here")
    args = parser.parse_args(argv)

    def bench(
        gateway: str, direct: str, path: str, pids: dict[str, int] | None = None
    ) -> dict[str, Any]:
        coro = run_gateway_bench(
            gateway,
            direct,
            path,
            args.seconds,
            args.concurrency,
            max_requests=args.max_requests,
            rounds=args.rounds,
            pids=pids,
        )
        return run_load(coro)

    if args.spawn:
        with spawned_platform() as (gateway_url, upstream_url, pids):
            result = bench(gateway_url, upstream_url, args.path or SPAWN_PATH, pids)
    else:
        result = bench(args.gateway, args.direct, args.path or "/healthz")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
