"""Refresh tokens: rotation, reuse detection, logout, password change; password policy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from devtools.nats import NatsServer
from services.kit.types import utcnow
from services.registry.identity.models import RefreshToken
from services.registry.identity.tokens import refresh_token_hash
from tests.registry.test_identity_support import (
    PASSWORD,
    Registry,
    auth,
    claims_of,
    fields_of,
    problem,
    registry_app,
)

NEW_PASSWORD = "a new and better one"


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


async def _row(registry: Registry, token: str) -> RefreshToken:
    async with registry.ctx.db.read() as session:
        row = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == refresh_token_hash(token))
        )
    assert row is not None
    return row


async def test_refresh_rotates_the_token_within_its_family(registry: Registry) -> None:
    account = await registry.create_account("worker")
    first = await registry.tokens(account["phone"])
    response = await registry.refresh(first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert claims_of(second["access_token"])["sub"] == account["id"]
    assert second["role"] == "worker" and second["party_id"] == account["party_id"]
    assert (await registry.me(second["access_token"])).status_code == 200

    old, new = (
        await _row(registry, first["refresh_token"]),
        await _row(registry, second["refresh_token"]),
    )
    assert old.used_at is not None and old.replaced_by == new.id
    assert new.family_id == old.family_id and new.used_at is None and new.revoked_at is None

    third = await registry.refresh(second["refresh_token"])
    assert third.status_code == 200


async def test_reusing_a_rotated_token_revokes_the_whole_family(registry: Registry) -> None:
    account = await registry.create_account("worker")
    other_session = await registry.tokens(account["phone"])
    first = await registry.tokens(account["phone"])
    second = (await registry.refresh(first["refresh_token"])).json()

    stolen = await registry.refresh(first["refresh_token"])  # a copy of the old token
    body = problem(stolen, 401, "invalid-refresh-token")
    assert "already used" in body["detail"]
    # The legitimate holder's newer token dies with it: the thief cannot keep the session.
    problem(await registry.refresh(second["refresh_token"]), 401, "invalid-refresh-token")
    row = await _row(registry, second["refresh_token"])
    assert row.revoked_reason == "reuse"
    # Another login (another family) is untouched.
    assert (await registry.refresh(other_session["refresh_token"])).status_code == 200


async def test_logout_revokes_the_family(registry: Registry) -> None:
    account = await registry.create_account("employer")
    tokens = await registry.tokens(account["phone"])
    rotated = (await registry.refresh(tokens["refresh_token"])).json()
    response = await registry.client.post(
        "/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]}
    )
    assert response.status_code == 204
    problem(await registry.refresh(rotated["refresh_token"]), 401, "invalid-refresh-token")
    assert (await _row(registry, rotated["refresh_token"])).revoked_reason == "logout"
    # Logging out twice, or with a token nobody knows, is not an error (RFC 7009).
    again = await registry.client.post(
        "/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]}
    )
    assert again.status_code == 204
    unknown = await registry.client.post(
        "/api/v1/auth/logout", json={"refresh_token": "never-issued"}
    )
    assert unknown.status_code == 204


async def test_expired_and_unknown_refresh_tokens_are_refused(registry: Registry) -> None:
    account = await registry.create_account("worker")
    tokens = await registry.tokens(account["phone"])
    async with registry.ctx.db.write() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == refresh_token_hash(tokens["refresh_token"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    body = problem(await registry.refresh(tokens["refresh_token"]), 401, "invalid-refresh-token")
    assert "expired" in body["detail"]
    problem(await registry.refresh("x" * 43), 401, "invalid-refresh-token")
    bad = await registry.client.post("/api/v1/auth/refresh", json={"refresh_token": ""})
    assert fields_of(problem(bad, 422)) == ["refresh_token"]


async def test_disabling_an_account_ends_its_sessions(registry: Registry) -> None:
    account = await registry.create_account("institution")
    tokens = await registry.tokens(account["phone"])
    disabled = await registry.client.post(
        f"/api/v1/accounts/{account['id']}/disable", headers=registry.admin
    )
    assert disabled.status_code == 200
    problem(await registry.refresh(tokens["refresh_token"]), 401, "invalid-refresh-token")


async def test_password_change_revokes_every_refresh_token(registry: Registry) -> None:
    account = await registry.create_account("worker")
    phone_session = await registry.tokens(account["phone"])
    web_session = await registry.tokens(account["phone"])
    response = await registry.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=auth(web_session["access_token"]),
    )
    assert response.status_code == 204, response.text
    for session in (phone_session, web_session):
        problem(await registry.refresh(session["refresh_token"]), 401, "invalid-refresh-token")
    problem(await registry.login(account["phone"], PASSWORD), 401, "invalid-credentials")
    assert (await registry.login(account["phone"], NEW_PASSWORD)).status_code == 200
    # Access tokens are short-lived and stay valid until they expire (documented).
    assert (await registry.me(web_session["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"current_password": PASSWORD, "new_password": "short1"}, "new_password", 422),
        ({"current_password": PASSWORD, "new_password": "12345678901234"}, "new_password", 422),
        ({"current_password": PASSWORD, "new_password": "a" * 129}, "new_password", 422),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, "new_password", 422),
        ({"current_password": PASSWORD}, "new_password", 422),
        ({"current_password": "", "new_password": NEW_PASSWORD}, "current_password", 422),
        (
            {"current_password": "wrong password", "new_password": NEW_PASSWORD},
            "current_password",
            403,
        ),
    ],
)
async def test_bad_password_changes_name_the_field(
    registry: Registry, body: dict[str, Any], field: str, status: int
) -> None:
    account = await registry.create_account("worker")
    tokens = await registry.tokens(account["phone"])
    response = await registry.client.post(
        "/api/v1/auth/password", json=body, headers=auth(tokens["access_token"])
    )
    assert fields_of(problem(response, status)) == [field]
    # Nothing changed: the old password still works and the session survives.
    assert (await registry.refresh(tokens["refresh_token"])).status_code == 200


async def test_new_password_may_not_be_the_phone_number(registry: Registry) -> None:
    account = await registry.create_account("worker")
    tokens = await registry.tokens(account["phone"])
    for candidate in (f"+86 {account['phone']}", f"my{account['phone']}"):
        response = await registry.client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": candidate},
            headers=auth(tokens["access_token"]),
        )
        body = problem(response, 422)
        assert fields_of(body) == ["new_password"]
        assert "mobile number" in body["errors"][0]["message"]


async def test_guessing_the_current_password_locks_the_account(registry: Registry) -> None:
    account = await registry.create_account("worker")
    tokens = await registry.tokens(account["phone"])
    statuses = []
    for _ in range(6):
        response = await registry.client.post(
            "/api/v1/auth/password",
            json={"current_password": "a wrong guess", "new_password": NEW_PASSWORD},
            headers=auth(tokens["access_token"]),
        )
        statuses.append(response.status_code)
    assert statuses == [403, 403, 403, 403, 429, 429]
    problem(await registry.login(account["phone"]), 429, "account-locked")


async def test_password_change_needs_a_person_token(registry: Registry) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = await registry.client.post("/api/v1/auth/password", json=body)
    problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    from tests.support.tokens import bearer

    partner = bearer("partner", uuid.uuid4(), scopes=["jobs:read"])
    problem(await registry.client.post("/api/v1/auth/password", json=body, headers=partner), 403)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "至少 10 个字符"),  # pydantic min_length, in the default zh-CN
        ("1234567890123", "all digits"),
        ("zzzzzzzzzzzz", "repeated"),
        ("+86 PHONE", "mobile number"),
        ("PHONE-abc", "mobile number"),
    ],
)
async def test_account_passwords_follow_the_policy(
    registry: Registry, password: str, message: str
) -> None:
    phone = "13912340000"
    body = {
        "phone": phone,
        "password": password.replace("PHONE", phone),
        "role": "worker",
        "party_id": str(uuid.uuid4()),
        "display_name": "李秀英",
    }
    response = await registry.client.post("/api/v1/accounts", json=body, headers=registry.admin)
    problem_body = problem(response, 422, "validation-error")
    assert fields_of(problem_body) == ["password"]
    assert message in problem_body["errors"][0]["message"]


async def test_concurrent_reuse_and_logout_never_fail_with_500(registry: Registry) -> None:
    account = await registry.create_account("worker")
    tokens = await registry.tokens(account["phone"])
    chain = [tokens["refresh_token"]]
    for _ in range(3):
        chain.append((await registry.refresh(chain[-1])).json()["refresh_token"])
    # Replay every old token at once, plus the live one and a logout, all concurrently.
    calls = [registry.refresh(token) for token in chain for _ in range(3)]
    calls.append(registry.client.post("/api/v1/auth/logout", json={"refresh_token": chain[-1]}))
    statuses = [r.status_code for r in await asyncio.gather(*calls)]
    assert 500 not in statuses
    assert set(statuses) <= {200, 204, 401}
    # Whatever the order, the family ends revoked.
    problem(await registry.refresh(chain[-1]), 401)
