"""Every service bounds request bodies in size and time, over a real socket (uvicorn)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import APIRouter, Depends, FastAPI

from devtools.nats import NatsServer
from services.kit.app import create_service_app
from services.kit.policy import public
from tests.kit.kit_harness import create_schema
from tests.support.apps import context, settings_for

router = APIRouter(prefix="/api/v1", dependencies=[Depends(public())])


@router.post("/notes")
async def post_note(payload: dict[str, Any]) -> dict[str, int]:
    return {"fields": len(payload)}


@router.post("/imports/files")
async def post_file(payload: dict[str, Any]) -> dict[str, int]:
    return {"fields": len(payload)}


def make_app(tmp_path: Path, nats_url: str) -> FastAPI:
    settings, platform = settings_for(
        "rating",
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        nats_url,
        max_body_bytes=4096,
        max_upload_bytes=64 * 1024,
        body_chunk_timeout=0.3,
    )
    return create_service_app(
        "rating",
        routers=[router],
        title="t",
        settings=settings,
        platform=platform,
        upload_prefixes=("/api/v1/imports/",),
    )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        await create_schema(context(app).db)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def raw_post(base: str, path: str, chunks: list[bytes], pause: float = 0.0) -> bytes:
    """POST a chunked body over a raw socket (a client that sends no Content-Length), then
    read the whole answer; ``pause`` waits before the last chunk, like a slow sender."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    framed = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks]
    writer.writelines(framed[:-1])
    if pause:
        await writer.drain()
        await asyncio.sleep(pause)
    writer.write(framed[-1] + b"0\r\n\r\n")
    try:
        await writer.drain()
    except ConnectionError:
        pass  # the server may have answered and closed already
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


def json_body(size: int) -> list[bytes]:
    return [b'{"a": "', *([b"x" * 1024] * (size // 1024)), b'"}']


async def test_size_and_time_limits(tmp_path: Path, nats_server: NatsServer) -> None:
    async with serving(make_app(tmp_path, nats_server.url)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            small = await client.post("/api/v1/notes", json={"a": "x" * 100})
            assert small.status_code == 200

            declared = await client.post("/api/v1/notes", json={"a": "x" * 10_000})
            assert declared.status_code == 413
            assert declared.headers["content-type"] == "application/problem+json"

        # Chunked: no Content-Length, refused once the count passes the limit.
        assert (await raw_post(base, "/api/v1/notes", json_body(2048))).startswith(b"HTTP/1.1 200")
        chunked = await raw_post(base, "/api/v1/notes", json_body(50 * 1024))
        assert chunked.startswith(b"HTTP/1.1 413")
        assert b"application/problem+json" in chunked

        # Upload routes have their own, larger limit.
        upload = await raw_post(base, "/api/v1/imports/files", json_body(20 * 1024))
        assert upload.startswith(b"HTTP/1.1 200")
        too_big = await raw_post(base, "/api/v1/imports/files", json_body(100 * 1024))
        assert too_big.startswith(b"HTTP/1.1 413")

        # A sender that stalls longer than the chunk timeout gets 408, not a held worker.
        slow = await raw_post(base, "/api/v1/notes", json_body(2048), pause=1.5)
        assert slow.startswith(b"HTTP/1.1 408")
        assert b"/problems/request-timeout" in slow
