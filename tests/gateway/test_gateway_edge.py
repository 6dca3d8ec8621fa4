"""The edge: rate limits per caller, and body limits that hold for chunked and slow senders."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.app import create_app
from gateway.ratelimit import RateLimiter
from tests.gateway.harness import GatewayFactory, ThreadedServer, Upstream, gateway_settings
from tests.support.rawhttp import json_body, raw_post
from tests.support.tokens import bearer


def test_token_bucket_refills_at_its_rate() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    assert [limiter.check("a", now=0.0).allowed for _ in range(3)] == [True, True, False]
    refused = limiter.check("a", now=0.0)
    assert (refused.allowed, refused.retry_after, refused.remaining) == (False, 1, 0)
    assert limiter.check("b", now=0.0).allowed  # another caller has its own bucket
    assert limiter.check("a", now=1.0).allowed  # one token a second
    assert not limiter.check("a", now=1.0).allowed


async def test_rate_limit_per_token_subject_and_per_address(make_gateway: GatewayFactory) -> None:
    async with make_gateway(
        rate_limit_per_minute=60,
        rate_limit_burst=3,
        anonymous_rate_limit_per_minute=60,
        anonymous_rate_limit_burst=2,
    ) as gw:
        me = bearer("worker", subject="account-1")
        statuses = [(await gw.get("/api/v1/workers/1", headers=me)).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        # A fresh token of the same account shares the bucket.
        refused = await gw.get("/api/v1/workers/1", headers=bearer("worker", subject="account-1"))
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith("/too-many-requests")
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["ratelimit-policy"] == '"per-client";q=60;w=60'
        assert refused.headers["ratelimit"].startswith('"per-client";r=0;t=')
        # Someone else is not slowed down by it.
        other = await gw.get("/api/v1/workers/1", headers=bearer("worker", subject="account-2"))
        assert other.status_code == 200

        gw.headers.pop("Authorization")
        anonymous = [(await gw.get("/api/v1/courses/c1")).status_code for _ in range(3)]
        assert anonymous == [200, 200, 429]


@pytest.fixture
def small_gateway(upstream: Upstream) -> Iterator[str]:
    settings = gateway_settings(
        upstream.url, max_body_bytes=4096, max_upload_bytes=64 * 1024, body_chunk_timeout=0.3
    )
    server = ThreadedServer(lambda: create_app(settings), factory=True).start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_body_limits_hold_for_chunked_and_slow_senders(small_gateway: str) -> None:
    token = bearer("officer")["Authorization"]
    headers = {"Authorization": token}
    async with httpx.AsyncClient(base_url=small_gateway, headers=headers) as client:
        ok = await client.post("/api/v1/enrollments", json={"a": "x" * 100})
        assert ok.status_code == 200
        declared = await client.post("/api/v1/enrollments", json={"a": "x" * 10_000})
        assert declared.status_code == 413

    extra = {"Authorization": token}
    chunked = await raw_post(small_gateway, "/api/v1/enrollments", json_body(50 * 1024), extra)
    assert chunked.startswith(b"HTTP/1.1 413")
    upload = await raw_post(small_gateway, "/api/v1/imports/workers", json_body(20 * 1024), extra)
    assert upload.startswith(b"HTTP/1.1 200")
    too_big = await raw_post(small_gateway, "/api/v1/imports/workers", json_body(200 * 1024), extra)
    assert too_big.startswith(b"HTTP/1.1 413"), too_big[:200]
    slow = await raw_post(small_gateway, "/api/v1/enrollments", json_body(2048), extra, pause=1.5)
    assert slow.startswith(b"HTTP/1.1 408")
