"""OAuth2 client credentials for partner platforms: clients, scopes, RFC 6749 errors."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from sqlalchemy import select

from devtools.nats import NatsServer
from services.registry.identity.models import OAuthClient
from services.registry.identity.scopes import PARTNER_SCOPES
from tests.registry.test_identity_support import (
    Registry,
    auth,
    claims_of,
    fields_of,
    problem,
    registry_app,
)
from tests.support.tokens import bearer

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


async def _client(
    registry: Registry, partner_id: uuid.UUID | None = None, scopes: list[str] | None = None
) -> dict[str, Any]:
    partner_id = partner_id or await registry.partner()
    response = await registry.client.post(
        f"/api/v1/partners/{partner_id}/clients",
        json={"name": "广州家政招聘平台", "scopes": scopes or ["jobs:read", "jobs:write"]},
        headers=registry.admin,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def _token(
    registry: Registry, data: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await registry.client.post("/api/v1/auth/token", data=data, headers=headers or {})


async def test_admin_creates_a_client_and_its_secret_is_shown_once(registry: Registry) -> None:
    partner_id = await registry.partner()
    created = await _client(registry, partner_id, ["candidates:read", "jobs:write", "jobs:read"])
    assert created["client_id"].startswith("jzp_")
    assert len(created["client_secret"]) >= 43
    assert created["scopes"] == ["jobs:read", "jobs:write", "candidates:read"]
    assert created["partner_id"] == str(partner_id) and created["active"] is True

    listed = await registry.client.get(
        f"/api/v1/partners/{partner_id}/clients", headers=registry.admin
    )
    assert listed.status_code == 200
    assert [c["client_id"] for c in listed.json()] == [created["client_id"]]
    assert "client_secret" not in listed.json()[0]
    async with registry.ctx.db.read() as session:
        row = await session.scalar(select(OAuthClient))
    assert row is not None and row.secret_hash.startswith("$argon2id$")
    assert created["client_secret"] not in row.secret_hash


async def test_client_credentials_with_basic_auth_grant_every_allowed_scope(
    registry: Registry,
) -> None:
    partner_id = await registry.partner()
    created = await _client(registry, partner_id)
    response = await _token(
        registry,
        {"grant_type": "client_credentials"},
        _basic(created["client_id"], created["client_secret"]),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    # Partner tokens are short-lived (5 minutes): a suspension cannot recall them.
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["scope"] == "jobs:read jobs:write"
    claims = claims_of(body["access_token"])
    assert claims["role"] == "partner"
    assert claims["pid"] == str(partner_id)
    assert claims["sub"] == created["client_id"]
    assert claims["scope"] == "jobs:read jobs:write"
    principal = await registry.app.state.token_verifier.verify(body["access_token"])
    assert principal.role == "partner" and principal.has_scope("jobs:write")
    # A partner token names a client, not a person: no account behind it.
    problem(await registry.me(body["access_token"]), 403)
    async with registry.ctx.db.read() as session:
        row = await session.get(OAuthClient, created["client_id"])
    assert row is not None and row.last_used_at is not None


async def test_form_credentials_and_a_scope_subset(registry: Registry) -> None:
    created = await _client(registry, None, ["jobs:read", "jobs:write", "workers:read"])
    response = await _token(
        registry,
        {
            "grant_type": "client_credentials",
            "scope": "workers:read jobs:read",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "jobs:read workers:read"
    assert claims_of(response.json()["access_token"])["scope"] == "jobs:read workers:read"


@pytest.mark.parametrize("scope", ["credit:read", "jobs:read credit:read", "admin", "jobs:delete"])
async def test_a_scope_outside_the_client_grant_is_invalid_scope(
    registry: Registry, scope: str
) -> None:
    created = await _client(registry)
    response = await _token(
        registry,
        {"grant_type": "client_credentials", "scope": scope},
        _basic(created["client_id"], created["client_secret"]),
    )
    body = problem(response, 400, "invalid-scope")
    assert body["error"] == "invalid_scope"
    assert fields_of(body) == ["scope"]


async def test_a_wrong_secret_or_unknown_client_is_invalid_client(registry: Registry) -> None:
    created = await _client(registry)
    wrong = await _token(
        registry,
        {"grant_type": "client_credentials"},
        _basic(created["client_id"], created["client_secret"] + "x"),
    )
    unknown = await _token(
        registry,
        {
            "grant_type": "client_credentials",
            "client_id": "jzp_" + "0" * 24,
            "client_secret": created["client_secret"],
        },
    )
    for response in (wrong, unknown):
        body = problem(response, 401, "invalid-client")
        assert body["error"] == "invalid_client"
        assert response.headers["www-authenticate"] == 'Basic realm="jiasao"'
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_a_revoked_client_gets_no_more_tokens(registry: Registry) -> None:
    partner_id = await registry.partner()
    created = await _client(registry, partner_id)
    credentials = _basic(created["client_id"], created["client_secret"])
    assert (await _token(registry, {"grant_type": "client_credentials"}, credentials)).is_success
    revoked = await registry.client.delete(
        f"/api/v1/partners/{partner_id}/clients/{created['client_id']}", headers=registry.admin
    )
    assert revoked.status_code == 204
    response = await _token(registry, {"grant_type": "client_credentials"}, credentials)
    assert problem(response, 401, "invalid-client")["error"] == "invalid_client"
    listed = await registry.client.get(
        f"/api/v1/partners/{partner_id}/clients", headers=registry.admin
    )
    assert listed.json()[0]["active"] is False and listed.json()[0]["revoked_at"]
    # Revoking under another partner's path finds nothing.
    other = await registry.client.delete(
        f"/api/v1/partners/{uuid.uuid4()}/clients/{created['client_id']}", headers=registry.admin
    )
    problem(other, 404)


@pytest.mark.parametrize(
    ("data", "headers", "status", "error", "field"),
    [
        ({}, None, 400, "invalid_request", "grant_type"),
        ({"grant_type": "password"}, None, 400, "unsupported_grant_type", "grant_type"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client", "client_id"),
        (
            {"grant_type": "client_credentials", "client_id": "jzp_x"},
            None,
            401,
            "invalid_client",
            "client_secret",
        ),
        (
            {"grant_type": "client_credentials"},
            {"Authorization": "Basic %%%"},
            401,
            "invalid_client",
            None,
        ),
        (
            {"grant_type": "client_credentials"},
            {"Authorization": "Bearer abc"},
            401,
            "invalid_client",
            None,
        ),
    ],
)
async def test_bad_token_requests_get_rfc6749_errors(
    registry: Registry,
    data: dict[str, str],
    headers: dict[str, str] | None,
    status: int,
    error: str,
    field: str | None,
) -> None:
    body = problem(await _token(registry, data, headers), status)
    assert body["error"] == error
    if field is not None:
        assert fields_of(body) == [field]


async def test_token_requests_must_be_form_encoded(registry: Registry) -> None:
    response = await registry.client.post(
        "/api/v1/auth/token", json={"grant_type": "client_credentials"}
    )
    assert problem(response, 400, "invalid-request")["error"] == "invalid_request"
    repeated = await registry.client.post(
        "/api/v1/auth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={"content-type": FORM},
    )
    assert fields_of(problem(repeated, 400)) == ["grant_type"]
    huge = await registry.client.post(
        "/api/v1/auth/token",
        content=b"grant_type=client_credentials&scope=" + b"a" * 10_000,
        headers={"content-type": FORM},
    )
    assert problem(huge, 400)["error"] == "invalid_request"


async def test_only_admins_manage_clients(registry: Registry) -> None:
    partner_id = uuid.uuid4()
    body = {"name": "深圳平台", "scopes": ["jobs:read"]}
    for role in ("officer", "worker", "company"):
        response = await registry.client.post(
            f"/api/v1/partners/{partner_id}/clients", json=body, headers=bearer(role, uuid.uuid4())
        )
        problem(response, 403, "forbidden")
    partner = bearer("partner", partner_id, scopes=PARTNER_SCOPES)
    response = await registry.client.post(
        f"/api/v1/partners/{partner_id}/clients", json=body, headers=partner
    )
    problem(response, 403)
    problem(await registry.client.post(f"/api/v1/partners/{partner_id}/clients", json=body), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["jobs:delete"]}, "scopes.0"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["jobs:read", "jobs:read"]}, "scopes"),
        ({"name": "", "scopes": ["jobs:read"]}, "name"),
    ],
)
async def test_client_input_is_validated(
    registry: Registry, body: dict[str, Any], field: str
) -> None:
    response = await registry.client.post(
        f"/api/v1/partners/{uuid.uuid4()}/clients", json=body, headers=registry.admin
    )
    assert fields_of(problem(response, 422)) == [field]


async def test_partner_token_is_usable_as_a_bearer(registry: Registry) -> None:
    created = await _client(registry, None, ["workers:read"])
    token = (
        await _token(
            registry,
            {"grant_type": "client_credentials"},
            _basic(created["client_id"], created["client_secret"]),
        )
    ).json()["access_token"]
    # Partners may not manage accounts: the registry sees a valid partner, and says 403.
    response = await registry.client.get(f"/api/v1/accounts/{uuid.uuid4()}", headers=auth(token))
    problem(response, 403, "forbidden")
