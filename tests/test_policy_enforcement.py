"""Suite-level role × endpoint matrix for all five services, from the declarations.

Every non-public route of every service is called on the service's own app (no gateway) by an
anonymous caller and by one caller of each role that its policy does not admit (people's roles,
and partner and agency tokens without the route's scopes). Each must be refused before the route
does anything: 401 with ``WWW-Authenticate`` for no token, 403 for a role or scope that may not,
both RFC 9457 problem+json. The app runs without its database or NATS, so a caller that slipped
past the policy would reach the route's code and fail some other way. The columns of callers who
may (and on which records) are the per-service matrices: tests/registry/test_access_matrix.py,
tests/training/test_training_access_matrix.py, tests/credit/test_credit_access_matrix.py,
tests/rating/test_rating_access.py, tests/matching/test_matching_access.py.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import compile_path

from services.kit.policy import Policy, policy_from
from services.kit.principal import ROLES, SCOPED_ROLES
from services.kit.settings import SERVICES
from tests.support.tokens import bearer

SAMPLES = ("0190a000-0000-7000-8000-000000000001", "2026", "sample")


class NoContext:
    """Stands in for the service context (database, bus): any route code that runs fails."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"route code ran: ctx.{name}")


def service_app(name: str) -> FastAPI:
    module = importlib.import_module(f"services.{name}.app")
    app: FastAPI = module.create_app()
    app.state.ctx = NoContext()
    return app


def concrete(template: str) -> str:
    """A request path the route matches: each parameter gets the first sample its type takes."""
    regex, path, convertors = compile_path(template)
    for name, convertor in convertors.items():
        sample = next(s for s in SAMPLES if re.fullmatch(convertor.regex, s))
        path = path.replace("{" + name + "}", sample)
    assert regex.match(path), (template, path)
    return path


def guarded_routes(app: FastAPI) -> Iterator[tuple[str, str, Policy]]:
    """(method, request path, policy) of every API route that needs a caller."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        policy = policy_from(context.dependant)
        assert policy is not None, context.path  # tests/test_route_policies.py names it
        if policy.kind == "public":
            continue
        for method in sorted(set(context.methods or ()) - {"HEAD"}):
            yield method, concrete(context.path), policy


def refused_callers(policy: Policy) -> Iterator[tuple[str, dict[str, str]]]:
    """Callers the policy must refuse (403), each with a valid token of the platform."""
    party = uuid.uuid4()
    for role in ROLES:
        if role in SCOPED_ROLES:
            # A partner or agency without the route's scopes (a foreign scope instead).
            if policy.kind == "authenticated" or role in policy.roles:
                continue
            yield f"{role} without scope", bearer(role, party, scopes=["unrelated:scope"])
            continue
        admitted = (
            policy.kind == "authenticated"
            or (policy.kind == "operator" and role == "admin")
            or (policy.kind == "roles" and role in policy.roles)
        )
        if not admitted:
            yield role, bearer(role, party)


def is_problem(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


@pytest.mark.parametrize("name", SERVICES)
async def test_every_guarded_route_refuses_callers_its_policy_does_not_admit(name: str) -> None:
    app = service_app(name)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    wrong: list[str] = []
    checked = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        for method, path, policy in guarded_routes(app):
            response = await client.request(method, path, json={})
            if not (
                response.status_code == 401
                and is_problem(response)
                and response.headers.get("www-authenticate", "").startswith("Bearer")
            ):
                wrong.append(f"{method} {path} anonymous: {response.status_code}")
            for caller, headers in refused_callers(policy):
                response = await client.request(method, path, json={}, headers=headers)
                checked += 1
                if response.status_code != 403 or not is_problem(response):
                    wrong.append(f"{method} {path} {caller}: {response.status_code}")
    assert wrong == []
    assert checked > 50  # every service has dozens of guarded routes and several refused roles


def test_the_matrix_sees_every_role_and_kind() -> None:
    """The walk is not vacuous: refused callers exist for each kind of policy it meets."""
    kinds = set()
    for name in SERVICES:
        for _, _, policy in guarded_routes(service_app(name)):
            kinds.add(policy.kind)
    assert kinds == {"roles", "authenticated", "operator"}
    operator_refused = {c for c, _ in refused_callers(Policy("operator"))}
    assert "officer" in operator_refused and "admin" not in operator_refused
    assert {"partner without scope", "agency without scope"} <= operator_refused


# --- body limits on every service's own port ---------------------------------------------------


def body_route(app: FastAPI) -> str:
    """A guarded POST route of the app that reads a JSON body (not an upload route)."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or "POST" not in (
            context.methods or ()
        ):
            continue
        policy = policy_from(context.dependant)
        if policy is not None and policy.kind == "roles" and context.dependant.body_params:
            path = concrete(context.path)
            if "/imports/" not in path:
                return path
    raise AssertionError("no POST route with a body")


async def chunks(count: int, size: int, pause: float = 0.0) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked), optionally stalling before its last chunk."""
    yield b'{"a": "'
    for index in range(count):
        if pause and index == count - 1:
            await asyncio.sleep(pause)
        yield b"x" * size
    yield b'"}'


@pytest.mark.parametrize("name", SERVICES)
async def test_every_service_bounds_chunked_and_slow_bodies(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each service's real app (not only the gateway, not only a kit test app) counts a chunked
    body as it arrives and refuses it past the limit (413), and answers a stalled sender 408."""
    monkeypatch.setenv(f"{name.upper()}_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv(f"{name.upper()}_BODY_CHUNK_TIMEOUT", "0.3")
    app = service_app(name)
    path = body_route(app)
    headers = bearer("officer") | {"Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        large = await client.post(path, content=chunks(64, 1024), headers=headers)
        assert "content-length" not in large.request.headers
        assert large.status_code == 413, (path, large.text)
        assert is_problem(large)
        declared = await client.post(path, content=b"x" * 5000, headers=headers)
        assert declared.status_code == 413, (path, declared.text)
        slow = await client.post(path, content=chunks(2, 100, pause=1.0), headers=headers)
        assert slow.status_code == 408, (path, slow.text)
        assert slow.json()["type"].endswith("/request-timeout")
