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
from tests.support.rawhttp import json_body, raw_post

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
