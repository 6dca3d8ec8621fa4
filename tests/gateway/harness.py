"""Test harness: a fake upstream service, a uvicorn server in a thread, gateway settings.

The upstream runs under uvicorn in a thread with its own event loop, so one instance serves the
whole session whatever loop each test runs on.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.types import ASGIApp

from gateway.settings import GatewaySettings
from services.kit.middleware import RequestContextMiddleware
from services.kit.settings import SERVICES

LARGE_SIZE = 3 * 1024 * 1024 + 17  # odd size: no chunking boundary lines up by chance
SLOW_SECONDS = 3.0  # well past the tests' read_timeout (1 s), so always a 504


def large_body() -> bytes:
    return bytes(range(256)) * (LARGE_SIZE // 256) + b"x" * (LARGE_SIZE % 256)


class CourseIn(BaseModel):
    name: str
    hours: int


class CourseOut(BaseModel):
    id: str
    name: str
    hours: int


class InternalThing(BaseModel):
    secret: bool


def make_upstream(port_holder: dict[str, int]) -> FastAPI:
    """Plays every service: a few typed routes for the OpenAPI merge, echo for the rest."""
    app = FastAPI(title="upstream", version="9.9.9")
    app.add_middleware(RequestContextMiddleware)  # echoes X-Request-ID, like a real service

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/internal/dead-letters", response_model=InternalThing)
    async def internal() -> InternalThing:
        return InternalThing(secret=True)

    @app.post("/api/v1/courses", response_model=CourseOut, status_code=201)
    async def create_course(course: CourseIn) -> CourseOut:
        return CourseOut(id="c1", name=course.name, hours=course.hours)

    @app.get("/api/v1/courses/{course_id}", response_model=CourseOut)
    async def get_course(course_id: str) -> CourseOut:
        return CourseOut(id=course_id, name="Elder care", hours=40)

    @app.get("/api/v1/jobs/slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(SLOW_SECONDS)
        return {"slow": True}

    @app.post("/api/v1/jobs/created")
    async def created() -> JSONResponse:
        return JSONResponse(
            {"id": "42"},
            status_code=201,
            headers={
                "X-Custom": "yes",
                "ETag": '"v1"',
                "Location": f"http://127.0.0.1:{port_holder['port']}/api/v1/jobs/42",
                "Keep-Alive": "timeout=99",
                "Proxy-Agent": "upstream",
                "Trailer": "X-Checksum",
            },
        )

    @app.get("/api/v1/certificates/large-fixed")
    async def large_fixed() -> Response:
        return Response(large_body(), media_type="application/octet-stream")

    @app.get("/api/v1/certificates/large-stream")
    async def large_stream() -> StreamingResponse:
        body = large_body()

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 100_000):
                yield body[start : start + 100_000]

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    @app.get("/api/v1/ratings/gzipped")
    async def gzipped() -> Response:
        return Response(
            gzip.compress(b'{"compressed": true}'),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    @app.api_route(
        "/{path:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    async def echo(request: Request) -> Response:
        body = await request.body()
        data: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode("latin-1"),
            "query": request.scope["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw],
            "body": body.decode("latin-1") if len(body) <= 4096 else None,
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        return Response(orjson.dumps(data), media_type="application/json")

    return app


class ThreadedServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port from a thread with its own loop."""

    def __init__(self, app: ASGIApp | Callable[[], ASGIApp], *, factory: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            factory=factory,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def closed_port_url() -> str:
    """A URL nobody listens on: bound to pick a free port, then closed (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Upstream:
    url: str
    port: int


#: ``make_gateway(**settings_overrides)`` → async context manager yielding an httpx client.
GatewayFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def gateway_settings(upstream_url: str, **overrides: Any) -> GatewaySettings:
    """All services at ``upstream_url`` unless overridden (e.g. ``credit_url=closed``).

    The connect timeout is 5 s, not the 1 s default: the gateway runs in the test's own event
    loop, and on a loaded CI machine a stall of that loop past 1 s fired the connect timer on
    a loopback connection the kernel had made at once (one 503 in a CI run). No test here
    measures the connect timeout; a closed port is refused at once whatever the timeout.
    """
    values: dict[str, Any] = {f"{name}_url": upstream_url for name in SERVICES}
    values["connect_timeout"] = 5.0
    values.update(overrides)
    return GatewaySettings(**values)
