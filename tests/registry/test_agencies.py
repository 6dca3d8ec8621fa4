"""Agencies as parties: registration, agreements, and token scopes that follow the agreements
in force; the workers change feed projected to an agreement's fields, and its signature."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.nats import NatsServer
from tests.registry.test_identity_support import Registry, claims_of, problem, registry_app
from tests.registry.test_parties_support import new_credit_code


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def agency(registry: Registry, kind: str = "hrss") -> str:
    body = {"kind": kind, "level": "city", "name": f"肇庆{kind}", "credit_code": new_credit_code()}
    response = await registry.client.post("/api/v1/agencies", json=body, headers=registry.admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def agreement_body(**datasets: list[str]) -> dict[str, Any]:
    return {
        "reference": "肇人社数共〔2026〕3号",
        "legal_basis": "《广东省政务数据资源共享管理办法》第十二条",
        "purpose": "就业补贴审核",
        "datasets": datasets,
        "retention_days": 365,
        "valid_from": _iso(-timedelta(days=1)),
        "valid_until": _iso(timedelta(days=365)),
    }


async def agreement(registry: Registry, agency_id: str, **overrides: Any) -> dict[str, Any]:
    body = {**agreement_body(workers=["name", "county", "status"]), **overrides}
    response = await registry.client.post(
        f"/api/v1/agencies/{agency_id}/agreements", json=body, headers=registry.admin
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def new_client(registry: Registry, agency_id: str) -> dict[str, Any]:
    created = await registry.client.post(
        f"/api/v1/agencies/{agency_id}/clients", json={"name": "数据交换"}, headers=registry.admin
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def client_token(registry: Registry, client: dict[str, Any], scope: str | None = None) -> Any:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return await registry.client.post(
        "/api/v1/auth/token",
        data=form,
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )


async def test_scopes_are_granted_only_while_an_agreement_is_in_force(registry: Registry) -> None:
    bad = await registry.client.post(
        "/api/v1/agencies",
        json={"kind": "hrss", "level": "city", "name": "x", "credit_code": "91441200MA4UJ9KJ6X"},
        headers=registry.admin,
    )
    problem(bad, 422)
    hrss = await agency(registry)
    wrong_field = await registry.client.post(
        f"/api/v1/agencies/{hrss}/agreements",
        json=agreement_body(workers=["name", "id_number"]),
        headers=registry.admin,
    )
    assert "id_number" in problem(wrong_field, 422)["errors"][0]["message"]

    # No agreement: a token with no scope; asking for one is invalid_scope.
    client = await new_client(registry, hrss)
    empty = await client_token(registry, client)
    assert empty.status_code == 200, empty.text
    assert claims_of(empty.json()["access_token"])["role"] == "agency"
    assert empty.json()["scope"] == ""
    assert (await client_token(registry, client, "feed:workers")).status_code == 400
    # An expired agreement grants nothing either.
    await agreement(
        registry,
        hrss,
        valid_from=_iso(-timedelta(days=30)),
        valid_until=_iso(-timedelta(days=1)),
    )
    assert (await client_token(registry, client)).json()["scope"] == ""
    await agreement(registry, hrss)
    granted = await client_token(registry, client)
    assert granted.json()["scope"] == "feed:workers"
    assert claims_of(granted.json()["access_token"])["pid"] == hrss

    # An agency token opens no party route.
    token = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    problem(await registry.client.get("/api/v1/workers", headers=token), 403)
    # Suspending the agency: no more tokens.
    suspended = await registry.client.post(
        f"/api/v1/agencies/{hrss}/status", json={"status": "suspended"}, headers=registry.admin
    )
    assert suspended.status_code == 200, suspended.text
    assert problem(await client_token(registry, client), 401)["error"] == "invalid_client"
