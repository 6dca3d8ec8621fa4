"""Forwarding through the gateway to a real upstream over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from services.kit.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from tests.gateway.harness import (
    LARGE_SIZE,
    GatewayFactory,
    Upstream,
    closed_port_url,
    large_body,
)
from tests.support.tokens import bearer

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def seen_headers(echo: dict[str, Any]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in echo["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return headers


def assert_problem(resp: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body: dict[str, Any] = resp.json()
    assert body["type"] == PROBLEM_BASE + slug
    assert body["status"] == status
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


async def test_invalid_bearer_token_is_refused_at_the_edge(gw: httpx.AsyncClient) -> None:
    forged = bearer("admin")["Authorization"][:-4] + "AAAA"  # signature no longer matches
    for authorization in (forged, "Bearer not-a-jwt"):
        resp = await gw.get("/api/v1/workers/1", headers={"Authorization": authorization})
        assert_problem(resp, 401, "unauthorized")
        assert resp.headers["www-authenticate"].startswith("Bearer")
    assert (await gw.get("/api/v1/workers/1")).status_code == 200  # the client's own token


async def test_no_token_only_for_public_routes(gw: httpx.AsyncClient) -> None:
    gw.headers.pop("Authorization")
    for method, path in (
        ("GET", "/api/v1/workers/1"),
        ("POST", "/api/v1/courses"),
        ("POST", "/api/v1/enrollments/e1/complete"),
        ("GET", "/api/v1/candidates"),
        ("POST", "/api/v1/ratings"),
        ("GET", "/api/v1/certificates"),
    ):
        resp = await gw.request(method, path, json={})
        assert_problem(resp, 401, "unauthorized")
        assert resp.headers["www-authenticate"].startswith("Bearer")
        basic = await gw.request(method, path, headers={"Authorization": "Basic dTpw"})
        assert_problem(basic, 401, "unauthorized")
    # Public routes pass without a token; the service still decides.
    assert (await gw.get("/api/v1/courses/c1")).status_code == 200
    assert (await gw.head("/api/v1/courses/c1")).status_code != 401
    assert (await gw.post("/api/v1/auth/login", json={})).status_code != 401


async def test_method_path_query_body_and_headers_forwarded(gw: httpx.AsyncClient) -> None:
    authorization = bearer("officer")["Authorization"]
    resp = await gw.patch(
        "/api/v1/workers/w%2F1?a=1&b=x%20y&a=2",
        content=b'{"name": "Li"}',
        headers={
            "Content-Type": "application/json",
            "Authorization": authorization,
            "Cookie": "session=abc",
            "Accept-Language": "zh-HK",
            "Idempotency-Key": "k-1",
        },
    )
    assert resp.status_code == 200
    echo = resp.json()
    assert echo["method"] == "PATCH"
    assert echo["raw_path"] == "/api/v1/workers/w%2F1"  # encoding kept as the client sent it
    assert echo["query"] == "a=1&b=x%20y&a=2"
    assert echo["body"] == '{"name": "Li"}'
    headers = seen_headers(echo)
    assert headers["content-type"] == ["application/json"]
    assert headers["authorization"] == [authorization]
    assert headers["cookie"] == ["session=abc"]
    assert headers["accept-language"] == ["zh-HK"]
    assert headers["idempotency-key"] == ["k-1"]
    assert headers["content-length"] == ["14"]
    assert headers["x-forwarded-for"] == ["127.0.0.1"]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-host"] == ["gateway.test"]


async def test_each_method_forwarded(gw: httpx.AsyncClient) -> None:
    for method in ("GET", "POST", "PUT", "DELETE", "OPTIONS"):
        resp = await gw.request(method, "/api/v1/engagements/e1")
        assert resp.status_code == 200, method
        assert resp.json()["method"] == method
    head = await gw.head("/api/v1/engagements/e1")
    assert head.status_code == 200
    assert head.content == b""


async def test_request_id_propagated_and_echoed_once(gw: httpx.AsyncClient) -> None:
    resp = await gw.get("/api/v1/fairs", headers={"X-Request-ID": "req-abc.123"})
    assert resp.headers.get_list("x-request-id") == ["req-abc.123"]
    assert seen_headers(resp.json())["x-request-id"] == ["req-abc.123"]

    generated = await gw.get("/api/v1/fairs")
    request_id = generated.headers["x-request-id"]
    assert request_id and generated.headers.get_list("x-request-id") == [request_id]
    assert seen_headers(generated.json())["x-request-id"] == [request_id]

    # An unsafe id is replaced, not forwarded.
    unsafe = await gw.get("/api/v1/fairs", headers={"X-Request-ID": "bad id\twith spaces"})
    assert seen_headers(unsafe.json())["x-request-id"] == [unsafe.headers["x-request-id"]]
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_traceparent_forwarded(gw: httpx.AsyncClient) -> None:
    resp = await gw.get("/api/v1/candidates", headers={"traceparent": TRACEPARENT})
    assert seen_headers(resp.json())["traceparent"] == [TRACEPARENT]
    # None from the client: the gateway starts a trace.
    fresh = seen_headers((await gw.get("/api/v1/candidates")).json())["traceparent"]
    assert len(fresh) == 1 and fresh[0].startswith("00-") and len(fresh[0]) == 55


async def test_hop_by_hop_request_headers_dropped(gw: httpx.AsyncClient) -> None:
    resp = await gw.get(
        "/api/v1/blacklist",
        headers={
            "Connection": "keep-alive, X-Private-Hop",
            "X-Private-Hop": "named by Connection",
            "Keep-Alive": "timeout=300",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Proxy-Connection": "keep-alive",
            "TE": "trailers",
            "Trailer": "X-Checksum",
            "Upgrade": "websocket",
            "Expect": "100-continue",
            "Forwarded": "for=6.6.6.6",
            "X-End-To-End": "kept",
        },
    )
    headers = seen_headers(resp.json())
    for name in (
        "x-private-hop",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "forwarded",
    ):
        assert name not in headers, name
    assert headers["x-end-to-end"] == ["kept"]
    # Host is the service's address, the client's is in X-Forwarded-Host.
    assert headers["host"] != ["gateway.test"]
    assert headers["x-forwarded-host"] == ["gateway.test"]


async def test_forwarded_headers_from_client_not_trusted(make_gateway: GatewayFactory) -> None:
    spoof = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example"}
    async with make_gateway() as gw:
        headers = seen_headers((await gw.get("/api/v1/jobs", headers=spoof)).json())
        assert headers["x-forwarded-for"] == ["127.0.0.1"]
        assert headers["x-forwarded-host"] == ["gateway.test"]
    async with make_gateway(trust_forwarded_headers=True) as gw:
        headers = seen_headers((await gw.get("/api/v1/jobs", headers=spoof)).json())
        assert headers["x-forwarded-for"] == ["6.6.6.6, 127.0.0.1"]
        assert headers["x-forwarded-host"] == ["evil.example"]


async def test_status_and_response_headers_returned(
    gw: httpx.AsyncClient, upstream: Upstream
) -> None:
    async with httpx.AsyncClient() as direct:  # the service does send the hop-by-hop ones
        sent = (await direct.post(f"{upstream.url}/api/v1/jobs/created")).headers
    assert {"keep-alive", "proxy-agent", "trailer"} <= set(sent)
    assert sent["location"].startswith(upstream.url)

    resp = await gw.post("/api/v1/jobs/created")
    assert resp.status_code == 201
    assert resp.json() == {"id": "42"}
    assert resp.headers["x-custom"] == "yes"
    assert resp.headers["etag"] == '"v1"'
    # The service's own address never reaches the client.
    assert resp.headers["location"] == "/api/v1/jobs/42"
    for name in ("keep-alive", "proxy-agent", "trailer", "transfer-encoding"):
        assert name not in resp.headers, name


async def test_typed_route_and_validation_error_pass_through(gw: httpx.AsyncClient) -> None:
    created = await gw.post("/api/v1/courses", json={"name": "Infant care", "hours": 32})
    assert created.status_code == 201
    assert created.json() == {"id": "c1", "name": "Infant care", "hours": 32}
    invalid = await gw.post("/api/v1/courses", json={"name": "x"})
    assert invalid.status_code == 422


async def test_large_response_bodies(gw: httpx.AsyncClient) -> None:
    expected = large_body()
    for path in ("/api/v1/certificates/large-fixed", "/api/v1/certificates/large-stream"):
        resp = await gw.get(path)
        assert resp.status_code == 200
        assert len(resp.content) == LARGE_SIZE
        assert resp.content == expected, path


async def test_encoded_body_passes_through_untouched(gw: httpx.AsyncClient) -> None:
    resp = await gw.get("/api/v1/ratings/gzipped", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["content-encoding"] == "gzip"
    assert resp.json() == {"compressed": True}  # httpx decompresses once: not twice


async def test_no_accept_encoding_invented(gw: httpx.AsyncClient) -> None:
    resp = await gw.get("/api/v1/redlist", headers={"Accept-Encoding": ""})
    assert seen_headers(resp.json()).get("accept-encoding", [""]) == [""]
    assert "user-agent" in seen_headers(resp.json())  # the client's own, passed on


async def test_large_request_body_streamed(make_gateway: GatewayFactory) -> None:
    body = large_body()
    async with make_gateway(max_body_bytes=2 * len(body)) as gw:
        resp = await gw.put("/api/v1/insurance/i1", content=body)
    echo = resp.json()
    assert echo["body_len"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()


async def test_chunked_request_body_forwarded(gw: httpx.AsyncClient) -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b"world"

    resp = await gw.post("/api/v1/imports", content=parts())
    echo = resp.json()
    assert echo["body"] == "hello world"
    headers = seen_headers(echo)
    assert "transfer-encoding" not in headers
    assert headers["content-length"] == ["11"]


async def test_body_too_large_is_413(make_gateway: GatewayFactory) -> None:
    async with make_gateway(max_body_bytes=1024) as gw:
        ok = await gw.post("/api/v1/imports", content=b"x" * 1024)
        assert ok.status_code == 200
        declared = await gw.post("/api/v1/imports", content=b"x" * 1025)
        assert_problem(declared, 413, "payload-too-large")

        async def parts() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"y" * 600

        chunked = await gw.post("/api/v1/imports", content=parts())
        assert_problem(chunked, 413, "payload-too-large")


async def test_bulk_uploads_stream_with_their_own_limit(make_gateway: GatewayFactory) -> None:
    async with make_gateway(max_body_bytes=1024, max_upload_bytes=4096) as gw:
        upload = await gw.post("/api/v1/imports/workers", content=b"z" * 3000)
        assert upload.status_code == 200 and len(upload.json()["body"]) == 3000
        too_big = await gw.post("/api/v1/imports/workers", content=b"z" * 4097)
        assert_problem(too_big, 413, "payload-too-large")

        async def parts() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b"w" * 700

        chunked = await gw.post("/api/v1/imports/workers", content=parts())
        assert chunked.status_code == 200 and len(chunked.json()["body"]) == 2800


async def test_upstream_down_is_503(make_gateway: GatewayFactory) -> None:
    async with make_gateway(registry_url=closed_port_url()) as gw:
        resp = await gw.get("/api/v1/workers/w1")
        body = assert_problem(resp, 503, "service-unavailable")
        assert "registry" in body["detail"]
        assert body["service"] == "registry"
        assert body["instance"] == "/api/v1/workers/w1"
        assert resp.headers["retry-after"] == "5"
        # Other services are unaffected; the failed one fails fast every time.
        assert (await gw.get("/api/v1/courses/c1")).status_code == 200
        assert (await gw.post("/api/v1/workers", json={})).status_code == 503


async def test_upstream_slow_is_504(make_gateway: GatewayFactory) -> None:
    async with make_gateway(read_timeout=1.0) as gw:
        resp = await gw.get("/api/v1/jobs/slow")
        body = assert_problem(resp, 504, "gateway-timeout")
        assert "matching" in body["detail"]
        # The pool recovers: the next request is answered normally.
        assert (await gw.get("/api/v1/jobs/j1")).status_code == 200


async def test_unknown_api_path_is_404_problem(gw: httpx.AsyncClient) -> None:
    for path in ("/api/v1/nothing-here", "/api/v2/workers", "/api", "/no/such/page"):
        resp = await gw.get(path)
        assert_problem(resp, 404, "not-found")
    assert_problem(await gw.delete("/api/v1/nothing-here"), 404, "not-found")


async def test_internal_paths_never_forwarded(gw: httpx.AsyncClient, upstream: Upstream) -> None:
    # The upstream does answer it directly ...
    async with httpx.AsyncClient() as direct:
        assert (await direct.get(f"{upstream.url}/internal/dead-letters")).status_code == 200
    # ... but never through the gateway, however the path is dressed up.
    for method, path in (
        ("GET", "/internal/dead-letters"),
        ("POST", "/internal/dead-letters/x/replay"),
        ("GET", "/api/v1/courses/%2e%2e/%2e%2e/internal/dead-letters"),
    ):
        resp = await gw.request(method, path)
        assert_problem(resp, 404, "not-found")
