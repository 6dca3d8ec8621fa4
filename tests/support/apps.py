"""Run a service app in-process against real NATS and a real database, with an HTTP client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from services.kit.app import ServiceContext
from services.kit.settings import PlatformSettings, ServiceSettings

T = TypeVar("T")


def settings_for(
    name: str, database_url: str, nats_url: str, **overrides: Any
) -> tuple[ServiceSettings, PlatformSettings]:
    service = ServiceSettings(name=name, port=0, database_url=database_url, **overrides)
    platform = PlatformSettings(nats_url=nats_url)
    return service, platform


@asynccontextmanager
async def running_app(app: FastAPI, *, wait_nats: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan and yield a client bound to it (no sockets)."""
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        if wait_nats:
            await context(app).bus.wait_connected(timeout=15)
        transport = httpx.ASGITransport(app=_state_per_request(manager.app))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _state_per_request(app: Any) -> Any:
    """Give each request its own copy of the lifespan state, as uvicorn does."""

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if "state" in scope:
            scope = {**scope, "state": dict(scope["state"])}
        await app(scope, receive, send)

    return wrapper


def context(app: FastAPI) -> ServiceContext:
    return app.state.ctx  # type: ignore[no-any-return]


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 15.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with the last value on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
