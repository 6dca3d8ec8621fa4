"""Fixtures: a real upstream service on a free port, and the gateway in front of it.

The gateway runs in-process (httpx ASGITransport, lifespan via asgi-lifespan); one test also runs
it under real uvicorn (see test_gateway_app.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from tests.gateway.harness import (
    GatewayFactory,
    ThreadedServer,
    Upstream,
    gateway_settings,
    make_upstream,
)
from tests.support.tokens import bearer


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    holder: dict[str, int] = {}
    server = ThreadedServer(make_upstream(holder))
    holder["port"] = server.port
    server.start()
    try:
        yield Upstream(server.url, server.port)
    finally:
        server.stop()


@pytest.fixture
def make_gateway(upstream: Upstream) -> GatewayFactory:
    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(gateway_settings(upstream.url, **overrides))
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://gateway.test",
                # Non-public routes are refused at the edge without a token; tests of
                # forwarding act as a signed-in caller unless they say otherwise.
                headers=bearer("officer"),
            ) as client,
        ):
            yield client

    return factory


@pytest.fixture
async def gw(make_gateway: GatewayFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with make_gateway() as client:
        yield client
