"""Suite-level: every route of every service declares who may call it, and the gateway's
table of public routes is exactly the set of routes the services declare public."""

from __future__ import annotations

import importlib
import re

import pytest
from fastapi import FastAPI

from gateway.routes import PUBLIC_PATHS, is_public, needs_token, resolve
from services.kit.policy import route_policies, routes_without_policy, security_requirement
from services.kit.settings import SERVICES


def service_app(name: str) -> FastAPI:
    module = importlib.import_module(f"services.{name}.app")
    return module.create_app()  # type: ignore[no-any-return]


def concrete(path: str) -> str:
    """A request path for a route template: each ``{param}`` becomes a sample segment."""
    return re.sub(r"\{[^}]+\}", "0190a000-0000-7000-8000-000000000001", path)


@pytest.mark.parametrize("name", SERVICES)
def test_every_route_declares_one_policy(name: str) -> None:
    app = service_app(name)
    assert routes_without_policy(app) == []
    assert len(route_policies(app)) > 4  # the walk sees the service's own routes, not only health


@pytest.mark.parametrize("name", SERVICES)
def test_openapi_security_is_the_enforced_policy(name: str) -> None:
    app = service_app(name)
    document = app.openapi()
    assert {"bearerAuth", "partnerOAuth"} <= set(document["components"]["securitySchemes"])
    for (method, path), policy in route_policies(app).items():
        operation = document["paths"].get(path, {}).get(method.lower())
        if operation is None:  # not in the document (health, HEAD)
            continue
        assert operation["security"] == security_requirement(policy), (method, path)


def test_gateway_public_table_matches_the_services_both_ways() -> None:
    declared_public: set[tuple[str, str]] = set()
    for name in SERVICES:
        for (method, path), policy in route_policies(service_app(name)).items():
            if method == "HEAD":
                continue
            request_path = concrete(path)
            routed = resolve(request_path)
            if path.startswith("/internal/") or path in ("/healthz", "/readyz"):
                assert routed is None, f"{path} must never be reachable through the gateway"
                continue
            assert routed == name, (method, path, routed)
            public_here = policy.kind == "public"
            assert is_public(method, request_path) == public_here, (
                f"{method} {path}: declared {policy.kind} in {name}, the gateway says "
                f"{'public' if is_public(method, request_path) else 'token needed'}"
            )
            if public_here:
                declared_public.add((method, request_path))
            if not public_here:
                assert needs_token(method, request_path), (method, path)
    # Every row of the gateway's table is used by some public route (no stale openings).
    for row in PUBLIC_PATHS:
        for method in row.public_methods:
            assert any(m == method and row.pattern.match(p) for m, p in declared_public), row
    # A method a public path does not serve is left to the service (405 with its Allow).
    assert not needs_token("PUT", "/api/v1/courses")
    assert needs_token("POST", "/api/v1/courses") and needs_token("PUT", "/api/v1/workers")
