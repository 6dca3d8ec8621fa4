"""The registry's credential endpoints never leave a credential in the Idempotency-Key store.

The kit withholds answers marked ``Cache-Control: no-store`` or holding credential fields
(tests/kit/test_idempotency.py with a test app); this checks the real endpoints that answer a
client secret, an access token or a refresh token, on SQLite and PostgreSQL: a retry with the
same key gets 409 ``idempotent-response-withheld`` (the original status and Location, no
secret), and the stored row has no body.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from devtools.nats import NatsServer
from services.kit.tables import idempotency_keys
from tests.registry.test_identity_support import Registry, auth, problem, registry_app
from tests.support.tokens import bearer


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


async def stored(registry: Registry, key: str) -> list[dict[str, Any]]:
    async with registry.ctx.db.read() as session:
        rows = await session.execute(select(idempotency_keys).where(idempotency_keys.c.key == key))
        return [dict(row) for row in rows.mappings()]


async def test_a_client_secret_is_answered_once_and_never_stored(registry: Registry) -> None:
    partner = await registry.partner()
    headers = registry.admin | {"Idempotency-Key": f"client-{uuid.uuid4()}"}
    path = f"/api/v1/partners/{partner}/clients"
    body = {"name": "招聘平台", "scopes": ["workers:read"]}
    first = await registry.client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["client_secret"]
    again = await registry.client.post(path, json=body, headers=headers)
    withheld = problem(again, 409, "idempotent-response-withheld")
    assert withheld["original_status"] == 201
    assert again.headers["location"] == first.headers["location"]
    assert secret not in again.text
    [row] = await stored(registry, headers["Idempotency-Key"])
    assert row["status"] == 201 and row["body"] is None
    # One client was made, not two.
    listed = await registry.client.get(path, headers=registry.admin)
    assert len(listed.json()) == 1


async def test_tokens_from_login_and_refresh_are_never_stored(registry: Registry) -> None:
    """A caller that sends a (valid) bearer token with a key is keyed by its subject; the
    tokens answered are still not kept."""
    account = await registry.create_account("worker")
    caller = bearer("worker", subject=str(uuid.uuid4()))
    login_key = f"login-{uuid.uuid4()}"
    login = await registry.client.post(
        "/api/v1/auth/login",
        json={"phone": account["phone"], "password": account["password"]},
        headers=caller | {"Idempotency-Key": login_key},
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    refresh_key = f"refresh-{uuid.uuid4()}"
    refreshed = await registry.client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers=auth(tokens["access_token"]) | {"Idempotency-Key": refresh_key},
    )
    assert refreshed.status_code == 200, refreshed.text
    for key in (login_key, refresh_key):
        for row in await stored(registry, key):
            assert row["body"] is None
    async with registry.ctx.db.read() as session:
        bodies = (await session.execute(select(idempotency_keys.c.body))).scalars().all()
    assert all(body is None for body in bodies)
