"""A suspended partner gets no tokens: suspension revokes its clients in the same transaction,
the grant refuses clients of a partner that is not active, and partner tokens are short-lived."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from devtools.nats import NatsServer
from services.registry.identity.models import OAuthClient
from services.registry.parties.models import Partner
from tests.registry.test_identity_support import Registry, claims_of, problem, registry_app


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


async def _partner(registry: Registry) -> str:
    return str(await registry.partner())


async def _client(registry: Registry, partner_id: str) -> dict[str, Any]:
    response = await registry.client.post(
        f"/api/v1/partners/{partner_id}/clients",
        json={"name": "招聘平台", "scopes": ["workers:read"]},
        headers=registry.admin,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _token(registry: Registry, client: dict[str, Any]) -> httpx.Response:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return await registry.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )


async def _set_status(registry: Registry, partner_id: str, to: str) -> httpx.Response:
    return await registry.client.post(
        f"/api/v1/partners/{partner_id}/status", json={"to": to}, headers=registry.admin
    )


async def test_suspending_a_partner_revokes_its_clients_at_once(registry: Registry) -> None:
    partner_id = await _partner(registry)
    clients = [await _client(registry, partner_id) for _ in range(2)]
    bystander = await _client(registry, await _partner(registry))
    for client in clients:
        assert (await _token(registry, client)).status_code == 200

    suspended = await _set_status(registry, partner_id, "suspended")
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    # Nothing waits for a job: the suspending transaction revoked them.
    listed = await registry.client.get(
        f"/api/v1/partners/{partner_id}/clients", headers=registry.admin
    )
    assert [(c["active"], bool(c["revoked_at"])) for c in listed.json()] == [(False, True)] * 2
    for client in clients:
        body = problem(await _token(registry, client), 401, "invalid-client")
        assert body["error"] == "invalid_client"
    # Another partner's client is untouched.
    assert (await _token(registry, bystander)).status_code == 200

    # Reactivating does not bring the revoked clients back; a new client works.
    assert (await _set_status(registry, partner_id, "active")).status_code == 200
    problem(await _token(registry, clients[0]), 401, "invalid-client")
    fresh = await _client(registry, partner_id)
    assert (await _token(registry, fresh)).status_code == 200


async def test_a_client_of_a_partner_that_is_not_active_gets_no_token(
    registry: Registry,
) -> None:
    """Even with an active client row (data from before this rule, or a partner suspended
    by other means), the grant itself checks the partner's status."""
    partner_id = await _partner(registry)
    client = await _client(registry, partner_id)
    async with registry.ctx.db.write() as session:
        await session.execute(
            update(Partner).where(Partner.id == uuid.UUID(partner_id)).values(status="suspended")
        )
    body = problem(await _token(registry, client), 400, "unauthorized-client")
    assert body["error"] == "unauthorized_client"

    orphan = await _client(registry, await _partner(registry))
    async with registry.ctx.db.write() as session:
        await session.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == orphan["client_id"])
            .values(partner_id=uuid.uuid4())
        )
    problem(await _token(registry, orphan), 400, "unauthorized-client")


async def test_clients_only_for_registered_active_partners(registry: Registry) -> None:
    body = {"name": "招聘平台", "scopes": ["workers:read"]}
    unknown = await registry.client.post(
        f"/api/v1/partners/{uuid.uuid4()}/clients", json=body, headers=registry.admin
    )
    problem(unknown, 404)
    partner_id = await _partner(registry)
    assert (await _set_status(registry, partner_id, "suspended")).status_code == 200
    refused = await registry.client.post(
        f"/api/v1/partners/{partner_id}/clients", json=body, headers=registry.admin
    )
    problem(refused, 409, "partner-not-active")


async def test_partner_tokens_live_five_minutes(registry: Registry) -> None:
    client = await _client(registry, await _partner(registry))
    response = await _token(registry, client)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 300
    claims = claims_of(response.json()["access_token"])
    assert claims["exp"] - claims["iat"] == 300
