"""Accounts: who may create which role, reads, disabling, and no plaintext phone at rest."""

from __future__ import annotations

import logging
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from devtools.nats import NatsServer
from tests.registry.test_identity_support import (
    Registry,
    auth,
    fields_of,
    new_phone,
    problem,
    registry_app,
)
from tests.support.tokens import bearer

PASSWORD = "a fine password"


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


def _body(role: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phone": new_phone(),
        "password": PASSWORD,
        "role": role,
        "display_name": "陈美玲",
    }
    if role not in ("officer", "admin"):
        body["party_id"] = str(uuid.uuid4())
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("role", ["worker", "employer", "company", "institution"])
async def test_officers_create_accounts_for_parties(registry: Registry, role: str) -> None:
    officer = bearer("officer")
    body = _body(role)
    response = await registry.client.post("/api/v1/accounts", json=body, headers=officer)
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["role"] == role and account["party_id"] == body["party_id"]
    assert account["status"] == "active"
    assert response.headers["location"] == f"/api/v1/accounts/{account['id']}"
    assert "password" not in account and "password_hash" not in account
    assert (await registry.login(body["phone"], PASSWORD)).status_code == 200


@pytest.mark.parametrize("role", ["officer", "admin"])
async def test_officers_cannot_create_programme_accounts(registry: Registry, role: str) -> None:
    response = await registry.client.post(
        "/api/v1/accounts", json=_body(role), headers=bearer("officer")
    )
    problem(response, 403, "forbidden")


@pytest.mark.parametrize("role", ["officer", "admin", "worker"])
async def test_admins_create_any_role(registry: Registry, role: str) -> None:
    body = _body(role)
    response = await registry.client.post("/api/v1/accounts", json=body, headers=registry.admin)
    assert response.status_code == 201, response.text
    tokens = await registry.tokens(body["phone"], PASSWORD)
    assert tokens["role"] == role
    assert tokens["party_id"] == body.get("party_id")


@pytest.mark.parametrize("role", ["worker", "employer", "company", "institution"])
async def test_people_cannot_create_accounts(registry: Registry, role: str) -> None:
    response = await registry.client.post(
        "/api/v1/accounts", json=_body("worker"), headers=bearer(role, uuid.uuid4())
    )
    problem(response, 403, "forbidden")


async def test_partners_and_anonymous_callers_cannot_create_accounts(registry: Registry) -> None:
    partner = bearer("partner", uuid.uuid4(), scopes=["workers:read"])
    problem(
        await registry.client.post("/api/v1/accounts", json=_body("worker"), headers=partner), 403
    )
    anonymous = await registry.client.post("/api/v1/accounts", json=_body("worker"))
    problem(anonymous, 401)


@pytest.mark.parametrize(
    ("overrides", "role", "field"),
    [
        ({"party_id": None}, "worker", "party_id"),
        ({"party_id": str(uuid.uuid4())}, "admin", "party_id"),
        ({"party_id": "not-a-uuid"}, "company", "party_id"),
        ({"role": "partner"}, "worker", "role"),
        ({"role": "superuser"}, "worker", "role"),
        ({"phone": "12345678901"}, "worker", "phone"),
        ({"display_name": ""}, "worker", "display_name"),
        ({"display_name": "名" * 51}, "worker", "display_name"),
        ({"password": "short"}, "worker", "password"),
        ({"extra": 1}, "worker", "extra"),
    ],
)
async def test_account_input_is_validated(
    registry: Registry, overrides: dict[str, Any], role: str, field: str
) -> None:
    body = _body(role)
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    response = await registry.client.post("/api/v1/accounts", json=body, headers=registry.admin)
    assert fields_of(problem(response, 422, "validation-error")) == [field]


async def test_one_account_per_phone(registry: Registry) -> None:
    first = _body("worker")
    assert (
        await registry.client.post("/api/v1/accounts", json=first, headers=registry.admin)
    ).status_code == 201
    spelled_differently = {**_body("employer"), "phone": f"+86-{first['phone']}"}
    response = await registry.client.post(
        "/api/v1/accounts", json=spelled_differently, headers=registry.admin
    )
    problem(response, 409, "duplicate-account")


async def test_reading_accounts(registry: Registry) -> None:
    account = await registry.create_account("worker")
    for reader in (registry.admin, bearer("officer")):
        response = await registry.client.get(f"/api/v1/accounts/{account['id']}", headers=reader)
        assert response.status_code == 200
        assert response.json()["phone"] == account["phone"]
    for role in ("worker", "company", "employer", "institution"):
        response = await registry.client.get(
            f"/api/v1/accounts/{account['id']}", headers=bearer(role, uuid.uuid4())
        )
        problem(response, 403)
    problem(
        await registry.client.get(f"/api/v1/accounts/{uuid.uuid4()}", headers=registry.admin),
        404,
        "not-found",
    )
    bad_id = await registry.client.get("/api/v1/accounts/nope", headers=registry.admin)
    assert fields_of(problem(bad_id, 422)) == ["account_id"]


async def test_me_shows_the_holder_their_own_account(registry: Registry) -> None:
    account = await registry.create_account("company", display_name="肇庆家政公司")
    tokens = await registry.tokens(account["phone"])
    response = await registry.me(tokens["access_token"])
    assert response.status_code == 200
    me = response.json()
    assert me["id"] == account["id"]
    assert me["phone"] == account["phone"]
    assert me["display_name"] == "肇庆家政公司" and me["role"] == "company"
    # A token for an account that does not exist (a random subject) is not an identity.
    problem(await registry.client.get("/api/v1/me", headers=bearer("worker", uuid.uuid4())), 401)


async def test_only_admins_disable_accounts(registry: Registry) -> None:
    account = await registry.create_account("worker")
    path = f"/api/v1/accounts/{account['id']}/disable"
    problem(await registry.client.post(path, headers=bearer("officer")), 403)
    problem(await registry.client.post(path, headers=bearer("worker", uuid.uuid4())), 403)
    response = await registry.client.post(path, headers=registry.admin)
    assert response.status_code == 200 and response.json()["status"] == "disabled"
    problem(await registry.login(account["phone"]), 403, "account-disabled")
    problem(
        await registry.client.post(
            f"/api/v1/accounts/{uuid.uuid4()}/disable", headers=registry.admin
        ),
        404,
    )


async def test_an_admin_cannot_disable_themself(registry: Registry) -> None:
    admin = await registry.create_account("admin")
    tokens = await registry.tokens(admin["phone"])
    response = await registry.client.post(
        f"/api/v1/accounts/{admin['id']}/disable", headers=auth(tokens["access_token"])
    )
    problem(response, 409, "own-account")


def _pg_dump(database_url: str) -> bytes:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    result = subprocess.run(
        [pg_dump, "--no-owner", "--dbname", libpq], capture_output=True, check=True, timeout=60
    )
    return result.stdout


async def test_no_plaintext_phone_reaches_the_database_or_the_logs(
    registry: Registry, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    phones = []
    for role in ("worker", "employer", "officer"):
        account = await registry.create_account(role)
        phones.append(account["phone"])
        tokens = await registry.tokens(account["phone"])
        await registry.refresh(tokens["refresh_token"])
        await registry.me(tokens["access_token"])
        await registry.login(account["phone"], "a wrong password")
    unknown = new_phone()
    await registry.login(unknown, "a wrong password")  # unknown numbers are throttled too
    phones.append(unknown)

    if backend == "sqlite":
        database = make_url(registry.database_url).database
        assert database is not None
        files = [p for p in Path(database).parent.glob(Path(database).name + "*") if p.is_file()]
        assert files
        content = b"".join(p.read_bytes() for p in files)
    else:
        content = _pg_dump(registry.database_url)
        assert b"accounts" in content
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for phone in phones:
        assert phone.encode() not in content
        assert phone.encode("utf-16-le") not in content
        assert phone not in logs
