"""Login with phone + password: tokens, no account enumeration, lockout, validation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from devtools.nats import NatsServer
from services.kit.types import utcnow
from services.registry.identity.models import Account, LoginThrottle
from services.registry.identity.passwords import needs_rehash
from tests.registry.test_identity_support import (
    PASSWORD,
    Registry,
    claims_of,
    fields_of,
    header_of,
    new_phone,
    problem,
    registry_app,
)


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


async def test_login_returns_access_and_refresh_tokens(registry: Registry) -> None:
    account = await registry.create_account("worker")
    response = await registry.login(account["phone"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh_expires_in"] == 30 * 24 * 3600
    assert body["role"] == "worker"
    assert body["party_id"] == account["party_id"]
    assert len(body["refresh_token"]) >= 43

    claims = claims_of(body["access_token"])
    assert claims["sub"] == account["id"]
    assert claims["role"] == "worker"
    assert claims["pid"] == account["party_id"]
    assert claims["iss"] == registry.ctx.platform.jwt_issuer
    assert claims["aud"] == registry.ctx.platform.jwt_audience
    assert claims["exp"] - claims["iat"] == 900
    header = header_of(body["access_token"])
    assert header["alg"] == "EdDSA"
    assert header["kid"] == registry.ctx.extras["signing_keys"].current().active_kid

    me = await registry.me(body["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["phone"] == account["phone"]  # the holder sees their own number in full
    assert me.json()["last_login_at"] is not None


async def test_login_accepts_other_spellings_of_the_number(registry: Registry) -> None:
    account = await registry.create_account("employer")
    phone = account["phone"]
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    assert (await registry.login(spaced)).status_code == 200


async def test_wrong_password_and_unknown_phone_answer_the_same(registry: Registry) -> None:
    account = await registry.create_account("worker")
    wrong = await registry.login(account["phone"], "not the password")
    unknown = await registry.login(new_phone(), PASSWORD)

    def comparable(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k != "request_id"}

    first = problem(wrong, 401, "invalid-credentials")
    second = problem(unknown, 401, "invalid-credentials")
    assert comparable(first) == comparable(second)
    assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")


async def test_five_failures_lock_the_account_until_the_lock_expires(registry: Registry) -> None:
    account = await registry.create_account("worker")
    phone = account["phone"]
    for _ in range(4):
        problem(await registry.login(phone, "wrong password!"), 401, "invalid-credentials")
    locked = problem(await registry.login(phone, "wrong password!"), 429, "account-locked")
    response = await registry.login(phone)  # even the right password waits out the lock
    again = problem(response, 429, "account-locked")
    retry_after = int(response.headers["retry-after"])
    assert 890 <= retry_after <= 900
    assert again["retry_after"] == retry_after
    assert 890 <= locked["retry_after"] <= 900

    async with registry.ctx.db.write() as session:
        await session.execute(
            update(Account)
            .where(Account.id == uuid.UUID(account["id"]))
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert (await registry.login(phone)).status_code == 200
    async with registry.ctx.db.read() as session:
        row = await session.get(Account, uuid.UUID(account["id"]))
    assert row is not None and row.failed_attempts == 0 and row.locked_until is None


async def test_success_resets_the_failure_count(registry: Registry) -> None:
    account = await registry.create_account("worker")
    for _ in range(4):
        await registry.login(account["phone"], "wrong password!")
    assert (await registry.login(account["phone"])).status_code == 200
    for _ in range(4):
        problem(await registry.login(account["phone"], "wrong password!"), 401)
    assert (await registry.login(account["phone"])).status_code == 200


async def test_an_unknown_number_locks_exactly_like_a_real_one(registry: Registry) -> None:
    known = await registry.create_account("worker")
    unknown = new_phone()
    answers: dict[str, list[int]] = {known["phone"]: [], unknown: []}
    for phone in answers:
        for _ in range(6):
            answers[phone].append((await registry.login(phone, "wrong password!")).status_code)
    assert answers[known["phone"]] == answers[unknown] == [401, 401, 401, 401, 429, 429]
    async with registry.ctx.db.read() as session:
        throttles = (await session.scalars(select(LoginThrottle))).all()
    assert len(throttles) == 1 and throttles[0].locked_until is not None


async def test_disabled_account_cannot_log_in(registry: Registry) -> None:
    account = await registry.create_account("company")
    response = await registry.client.post(
        f"/api/v1/accounts/{account['id']}/disable", headers=registry.admin
    )
    assert response.status_code == 200 and response.json()["status"] == "disabled"
    problem(await registry.login(account["phone"]), 403, "account-disabled")
    # A wrong password still gets the ordinary answer: disabled says nothing without it.
    problem(await registry.login(account["phone"], "wrong password!"), 401)
    enabled = await registry.client.post(
        f"/api/v1/accounts/{account['id']}/enable", headers=registry.admin
    )
    assert enabled.status_code == 200
    assert (await registry.login(account["phone"])).status_code == 200


async def test_login_rehashes_passwords_made_with_old_parameters(registry: Registry) -> None:
    account = await registry.create_account("worker")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    async with registry.ctx.db.write() as session:
        await session.execute(
            update(Account).where(Account.id == uuid.UUID(account["id"])).values(password_hash=weak)
        )
    assert (await registry.login(account["phone"])).status_code == 200
    async with registry.ctx.db.read() as session:
        row = await session.get(Account, uuid.UUID(account["id"]))
    assert row is not None and row.password_hash != weak
    assert not needs_rehash(row.password_hash)
    assert (await registry.login(account["phone"])).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345", "password": PASSWORD}, "phone"),
        ({"phone": "+44 7700 900123", "password": PASSWORD}, "phone"),
        ({"phone": 13912345678, "password": PASSWORD}, "phone"),
        ({"phone": "1" * 100_000, "password": PASSWORD}, "phone"),
        ({"password": PASSWORD}, "phone"),
        ({"phone": "13912345678"}, "password"),
        ({"phone": "13912345678", "password": ""}, "password"),
        ({"phone": "13912345678", "password": "x" * 1025}, "password"),
        ({"phone": "13912345678", "password": PASSWORD, "remember": True}, "remember"),
    ],
)
async def test_bad_login_input_is_a_422_naming_the_field(
    registry: Registry, body: dict[str, Any], field: str
) -> None:
    response = await registry.client.post("/api/v1/auth/login", json=body)
    assert fields_of(problem(response, 422, "validation-error")) == [field]


async def test_a_non_json_login_is_a_4xx_problem(registry: Registry) -> None:
    response = await registry.client.post(
        "/api/v1/auth/login", content=b"phone=1&password=2", headers={"content-type": "text/plain"}
    )
    problem(response, 422)


async def test_a_burst_of_logins_never_fails_with_500(registry: Registry) -> None:
    account = await registry.create_account("worker")
    unknown = new_phone()
    attempts = [registry.login(account["phone"], f"wrong password {i}") for i in range(12)]
    attempts += [registry.login(unknown, f"wrong password {i}") for i in range(12)]
    attempts += [registry.login(account["phone"]) for _ in range(4)]
    statuses = [r.status_code for r in await asyncio.gather(*attempts)]
    assert 500 not in statuses
    assert set(statuses) <= {200, 401, 429}
    # However the attempts interleave, an unknown number gets at most 4 plain refusals before
    # the lock: parallel guesses cannot outrun the failure counter.
    unknown_statuses = statuses[12:24]
    assert unknown_statuses.count(401) <= 4
    assert unknown_statuses.count(429) >= 8


async def test_throttles_of_unknown_numbers_are_forgotten_after_a_day(registry: Registry) -> None:
    first, second = new_phone(), new_phone()
    problem(await registry.login(first, "wrong password!"), 401)
    async with registry.ctx.db.write() as session:
        await session.execute(update(LoginThrottle).values(updated_at=utcnow() - timedelta(days=2)))
    problem(await registry.login(second, "wrong password!"), 401)
    async with registry.ctx.db.read() as session:
        remaining = (await session.scalars(select(LoginThrottle))).all()
    assert len(remaining) == 1 and remaining[0].failed_attempts == 1
