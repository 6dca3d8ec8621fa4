"""The gateway's own endpoints (health, readiness, OpenAPI, docs), CORS, and real uvicorn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from services.kit.errors import PROBLEM_BASE
from tests.gateway.harness import (
    LARGE_SIZE,
    GatewayFactory,
    ThreadedServer,
    Upstream,
    closed_port_url,
    gateway_settings,
)
from tests.support.tokens import bearer


async def test_healthz_and_landing(gw: httpx.AsyncClient) -> None:
    health = await gw.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "alive"}
    assert health.headers["x-request-id"]
    landing = await gw.get("/")
    assert landing.status_code == 200
    assert "text/html" in landing.headers["content-type"]
    assert 'href="/docs"' in landing.text


async def test_docs_pages(gw: httpx.AsyncClient) -> None:
    docs = await gw.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text and "/openapi.json" in docs.text
    redoc = await gw.get("/redoc")
    assert redoc.status_code == 200 and "/openapi.json" in redoc.text
    # Every script, style and icon the pages load comes from the platform itself (no CDN):
    # they must work on a closed network.
    for page in (docs, redoc):
        urls = re.findall(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'', page.text)
        links = [a or b for a, b in urls]
        assert links, page.text[:300]
        for link in links:
            assert link.startswith("/"), f"external asset: {link}"
            asset = await gw.get(link)
            assert asset.status_code == 200, link
    assert "fonts.googleapis" not in redoc.text
    bundle = await gw.get("/docs-assets/swagger-ui-bundle.js")
    assert len(bundle.content) > 100_000
    assert (await gw.get("/docs/oauth2-redirect")).status_code == 200


async def test_readyz_all_ready(gw: httpx.AsyncClient) -> None:
    resp = await gw.get("/readyz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ready"
    assert body["services"] == {
        name: "ready" for name in ("registry", "training", "credit", "rating", "matching")
    }


async def test_readyz_names_services_not_ready(make_gateway: GatewayFactory) -> None:
    async with make_gateway(credit_url=closed_port_url(), rating_url=closed_port_url()) as gw:
        resp = await gw.get("/readyz")
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"] == PROBLEM_BASE + "service-unavailable"
    assert body["not_ready"] == ["credit", "rating"]
    assert body["services"]["registry"] == "ready"
    assert body["services"]["credit"].startswith("unavailable")
    assert body["gateway"] == "ready"


def _paths(doc: dict[str, Any]) -> set[str]:
    return set(doc["paths"])


async def test_merged_openapi(gw: httpx.AsyncClient) -> None:
    resp = await gw.get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "Jiasao API"
    assert doc["info"]["version"]
    assert doc["x-unavailable-services"] == []
    assert {
        "/api/v1/courses",
        "/api/v1/courses/{course_id}",
        "/api/v1/jobs/slow",
        "/api/v1/certificates/large-fixed",
        "/api/v1/ratings/gzipped",
    } <= _paths(doc)
    assert not {p for p in _paths(doc) if p.startswith(("/internal", "/healthz", "/readyz"))}
    schemas = doc["components"]["schemas"]
    assert {"CourseIn", "CourseOut"} <= set(schemas)
    assert "InternalThing" not in schemas  # only reachable from /internal
    # Every service serves the same schemas here: shared, not duplicated under prefixes.
    assert not [name for name in schemas if name.startswith(("registry_", "training_"))]


async def test_merged_openapi_names_unavailable_services(make_gateway: GatewayFactory) -> None:
    async with make_gateway(credit_url=closed_port_url()) as gw:
        doc = (await gw.get("/openapi.json")).json()
    assert doc["x-unavailable-services"] == ["credit"]
    assert "credit" not in doc["x-services"]
    assert "/api/v1/certificates/large-fixed" not in doc["paths"]  # credit's
    assert "/api/v1/courses" in doc["paths"]


async def test_merged_openapi_is_cached(make_gateway: GatewayFactory) -> None:
    async with make_gateway() as gw:
        first = await gw.get("/openapi.json")
        second = await gw.get("/openapi.json")
    assert first.content == second.content


async def test_cors(make_gateway: GatewayFactory) -> None:
    origin = "https://app.example"
    async with make_gateway(cors_origins=[origin]) as gw:
        preflight = await gw.options(
            "/api/v1/workers",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        proxied = await gw.get("/api/v1/workers", headers={"Origin": origin})
        assert proxied.headers["access-control-allow-origin"] == origin
        assert "x-request-id" in proxied.headers["access-control-expose-headers"].lower()
        other = await gw.get("/api/v1/workers", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    async with make_gateway() as gw:  # default: no CORS at all
        resp = await gw.get("/api/v1/workers", headers={"Origin": origin})
        assert "access-control-allow-origin" not in resp.headers


@pytest.fixture
def real_gateway(upstream: Upstream) -> Iterator[str]:
    settings = gateway_settings(upstream.url, read_timeout=1.0)
    server = ThreadedServer(lambda: create_app(settings), factory=True).start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_under_real_uvicorn(real_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=real_gateway, headers=bearer("officer")) as client:
        resp = await client.post(
            "/api/v1/enrollments?x=1", json={"a": 1}, headers={"X-Request-ID": "r-1"}
        )
        assert resp.status_code == 200
        assert resp.headers.get_list("x-request-id") == ["r-1"]
        # uvicorn adds its own Server/Date; the service's copies are not passed on as well.
        assert len(resp.headers.get_list("date")) == 1
        assert len(resp.headers.get_list("server")) <= 1
        assert resp.json()["query"] == "x=1"
        for _ in range(3):  # pooled keep-alive connections are reused
            big = await client.get("/api/v1/certificates/large-stream")
            assert len(big.content) == LARGE_SIZE
        slow = await client.get("/api/v1/jobs/slow")
        assert slow.status_code == 504
        missing = await client.get("/internal/dead-letters")
        assert missing.status_code == 404
