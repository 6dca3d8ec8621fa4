"""The routing table, the settings and the OpenAPI merge, without any server."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from contracts.statistics import TOPIC_OWNERS
from gateway.openapi import merge_documents, public_paths
from gateway.routes import ROUTES, resolve
from gateway.settings import GatewaySettings


@pytest.mark.parametrize(
    ("path", "service"),
    [
        # Per-worker sub-resources owned by other services win over the registry's /workers.
        ("/api/v1/workers/w1/certificates", "credit"),
        ("/api/v1/workers/w1/certificates/c9", "credit"),
        ("/api/v1/workers/w1/credit", "credit"),
        ("/api/v1/workers/w1/rating", "rating"),
        ("/api/v1/workers/w1/rating/history", "rating"),
        ("/api/v1/workers", "registry"),
        ("/api/v1/workers/", "registry"),
        ("/api/v1/workers/w1", "registry"),
        ("/api/v1/workers/w1/ratingx", "registry"),
        ("/api/v1/companies/c1/staff", "registry"),
        ("/api/v1/institutions", "registry"),
        ("/api/v1/employers", "registry"),
        ("/api/v1/partners", "registry"),
        ("/api/v1/accounts", "registry"),
        ("/api/v1/auth/token", "registry"),
        ("/api/v1/workers/w1/consents", "registry"),
        ("/api/v1/imports/i1", "registry"),
        ("/api/v1/exports", "registry"),
        ("/api/v1/me", "registry"),
        ("/.well-known/jwks.json", "registry"),
        ("/api/v1/courses", "training"),
        ("/api/v1/enrollments/e1", "training"),
        ("/api/v1/competitions", "training"),
        ("/api/v1/subsidies", "training"),
        ("/api/v1/certificates/ZQJS-2026-000123", "credit"),
        ("/api/v1/credit-files", "credit"),
        ("/api/v1/blacklist", "credit"),
        ("/api/v1/redlist", "credit"),
        ("/api/v1/insurance", "credit"),
        ("/api/v1/ratings", "rating"),
        ("/api/v1/assessments/a1", "rating"),
        ("/api/v1/candidates", "matching"),
        ("/api/v1/jobs/j1", "matching"),
        ("/api/v1/applications", "matching"),
        ("/api/v1/engagements", "matching"),
        ("/api/v1/fairs", "matching"),
        ("/api/v1/statistics/workers", "registry"),
        ("/api/v1/statistics/training-bases", "training"),
        ("/api/v1/statistics/cards", "credit"),
        ("/api/v1/statistics/stars", "rating"),
        ("/api/v1/statistics/fairs", "matching"),
        # OpenAPI templates route like concrete paths.
        ("/api/v1/workers/{worker_id}/credit", "credit"),
    ],
)
def test_routing_table_picks_owner(path: str, service: str) -> None:
    assert resolve(path) == service


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/v1",
        "/api/v1/",
        "/api/v1/nothing",
        "/api/v1/workersx",
        "/api/v2/workers",
        "/api/v1/coursesfoo",
        "/internal/dead-letters",
        "/internal/api/v1/workers",
        "/healthz",
        "/.well-known/jwks.jsonx",
        "/.well-known/openid-configuration",
        "/api/v1/courses/../../internal/dead-letters",
        "/api/v1/workers/./x",
        "/api/v1/workers/..",
        "/api/v1/statistics",
        "/api/v1/statistics/",
        "/api/v1/statistics/nothing",
        "/api/v1/statistics/workersx",
        "/api/v1/statistics/workers/x",
    ],
)
def test_unrouted_paths(path: str) -> None:
    assert resolve(path) is None


def test_statistics_topics_route_to_their_owners_which_serve_exactly_them() -> None:
    """The gateway rows come from TOPIC_OWNERS, and each service's statistics router (which its
    app includes: tests/<service>/test_<service>_statistics.py call it) serves exactly its
    topics."""
    for topic, owner in TOPIC_OWNERS.items():
        assert resolve(f"/api/v1/statistics/{topic}") == owner
    for service in sorted(set(TOPIC_OWNERS.values())):
        router = importlib.import_module(f"services.{service}.statistics").router
        served = {route.path.removeprefix("/api/v1/statistics/") for route in router.routes}
        assert served == {t for t, o in TOPIC_OWNERS.items() if o == service}, service


def test_table_is_ordered_and_precompiled() -> None:
    assert [r.service for r in ROUTES[:3]] == ["credit", "credit", "rating"]
    assert all(hasattr(r.pattern, "match") for r in ROUTES)


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GATEWAY_CORS_ORIGINS", "GATEWAY_PORT", "GATEWAY_CREDIT_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = GatewaySettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.service_urls() == {
        "registry": "http://127.0.0.1:8001",
        "training": "http://127.0.0.1:8002",
        "credit": "http://127.0.0.1:8003",
        "rating": "http://127.0.0.1:8004",
        "matching": "http://127.0.0.1:8005",
    }
    assert settings.connect_timeout == 1.0
    assert settings.read_timeout == 10.0
    assert settings.max_body_bytes == 1024 * 1024  # the same as each service's own limit
    assert settings.body_chunk_timeout == 15.0
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (600, 120)
    assert settings.pool_limit_per_host == 100
    assert settings.cors_origins == []


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("GATEWAY_CREDIT_URL", "http://credit.internal:9000/")
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "2.5")
    settings = GatewaySettings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.credit_url == "http://credit.internal:9000"
    assert settings.read_timeout == 2.5
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", '["https://c.example"]')
    assert GatewaySettings().cors_origins == ["https://c.example"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(schema: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"responses": {"200": {"content": {"application/json": {"schema": schema}}}}}}


def test_public_paths_keep_only_routed_to_that_service() -> None:
    paths = {
        "/api/v1/workers": {},
        "/api/v1/workers/{id}/credit": {},
        "/api/v1/courses": {},
        "/internal/dead-letters": {},
        "/healthz": {},
        "/readyz": {},
    }
    assert list(public_paths("registry", paths)) == ["/api/v1/workers"]
    assert list(public_paths("credit", paths)) == ["/api/v1/workers/{id}/credit"]


def test_merge_shares_equal_components_and_prefixes_clashes() -> None:
    problem = {"type": "object", "properties": {"title": {"type": "string"}}}
    registry = {
        "paths": {
            "/api/v1/workers": _op(_ref("Worker")),
            "/api/v1/me": _op(_ref("Problem")),
            "/internal/dead-letters": _op(_ref("DeadLetter")),
        },
        "components": {
            "schemas": {
                "Problem": problem,
                "Worker": {"type": "object", "properties": {"home": _ref("Address")}},
                "Address": {"type": "string"},
                "DeadLetter": {"type": "object"},
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "tags": [{"name": "workers"}],
    }
    training = {
        "paths": {
            "/api/v1/courses": _op(_ref("Course")),
            "/api/v1/subsidies": _op(_ref("Problem")),
            "/api/v1/enrollments": _op(_ref("Worker")),
            "/api/v1/workers": _op(_ref("Problem")),  # not training's: dropped
        },
        "components": {
            "schemas": {
                "Problem": dict(problem),
                "Course": {"type": "object", "properties": {"venue": _ref("Address")}},
                # Same text as the registry's Worker, but its Address differs: must split too.
                "Worker": {"type": "object", "properties": {"home": _ref("Address")}},
                "Address": {"type": "object", "properties": {"street": {"type": "string"}}},
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "tags": [{"name": "workers"}, {"name": "courses"}],
    }
    merged = merge_documents({"registry": registry, "training": training}, ["credit"])

    assert merged["openapi"].startswith("3.1")
    assert merged["info"]["title"] == "Jiasao API"
    assert merged["x-unavailable-services"] == ["credit"]
    assert merged["x-services"] == ["registry", "training"]
    assert set(merged["paths"]) == {
        "/api/v1/workers",
        "/api/v1/me",
        "/api/v1/courses",
        "/api/v1/subsidies",
        "/api/v1/enrollments",
    }
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {
        "Problem",
        "Worker",
        "Address",
        "Course",
        "training_Address",
        "training_Worker",
    }
    assert schemas["Address"] == {"type": "string"}
    assert schemas["Course"]["properties"]["venue"] == _ref("training_Address")
    assert schemas["training_Worker"]["properties"]["home"] == _ref("training_Address")
    assert schemas["Worker"]["properties"]["home"] == _ref("Address")

    def schema_of(path: str) -> dict[str, str]:
        content = merged["paths"][path]["get"]["responses"]["200"]["content"]
        return content["application/json"]["schema"]  # type: ignore[no-any-return]

    assert schema_of("/api/v1/subsidies") == _ref("Problem")
    assert schema_of("/api/v1/enrollments") == _ref("training_Worker")
    assert schema_of("/api/v1/workers") == _ref("Worker")
    bearer = {"type": "http", "scheme": "bearer"}
    assert merged["components"]["securitySchemes"] == {"bearer": bearer}
    assert [t["name"] for t in merged["tags"]] == ["workers", "courses"]
    # The inputs are left untouched.
    assert training["components"]["schemas"]["Course"]["properties"]["venue"] == _ref("Address")
