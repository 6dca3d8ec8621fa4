"""A wrong method gets 405 problem+json with an ``Allow`` naming every method served at that
path, on every path of every service (no lifespan needed: routing answers before handlers)."""

from __future__ import annotations

import importlib
import re
from collections import defaultdict

import httpx
import pytest

from services.kit.settings import SERVICES

SAMPLE = "0190a000-0000-7000-8000-000000000001"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.mark.parametrize("name", SERVICES)
async def test_405_names_every_method_served(name: str) -> None:
    app = importlib.import_module(f"services.{name}.app").create_app()
    served: dict[str, set[str]] = defaultdict(set)
    for path, item in app.openapi()["paths"].items():
        served[re.sub(r"\{[^}]+\}", SAMPLE, path)] |= {m.upper() for m in item}
    checked = 0
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for path, methods in served.items():
            expected = sorted(methods | ({"HEAD"} if "GET" in methods else set()))
            for method in set(METHODS) - methods:
                response = await client.request(method, path)
                assert response.status_code == 405, (method, path, response.status_code)
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["allow"].split(", ") == expected, (method, path)
                checked += 1
    assert checked > 5


async def test_lookup_is_not_taken_for_a_worker_id() -> None:
    app = importlib.import_module("services.registry.app").create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for method in ("GET", "PATCH"):
            response = await client.request(method, "/api/v1/workers/lookup")
            assert response.status_code == 405
            assert response.headers["allow"] == "POST"
