"""Helpers for the identity tests (no tests here): a running registry plus account helpers.

Named ``test_identity_*`` to sit with the identity tests; pytest finds nothing to run in it.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from services.kit.app import ServiceContext
from services.kit.settings import PlatformSettings
from services.registry.app import create_app
from services.registry.identity.service import IdentityService
from tests.support.apps import context, settings_for
from tests.support.databases import service_database
from tests.support.tokens import bearer

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery"


def new_phone() -> str:
    """A fresh, valid mainland mobile number."""
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Registry:
    app: FastAPI
    client: httpx.AsyncClient
    database_url: str
    admin: dict[str, str] = field(default_factory=lambda: bearer("admin"))

    @property
    def ctx(self) -> ServiceContext:
        return context(self.app)

    @property
    def identity(self) -> IdentityService:
        return self.ctx.extras["identity"]  # type: ignore[no-any-return]

    async def create_account(
        self,
        role: str = "worker",
        *,
        phone: str | None = None,
        password: str = PASSWORD,
        party_id: uuid.UUID | str | None = "auto",
        display_name: str = "李秀英",
        as_: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create an account through the API (as an admin by default); returns its body and
        the phone and password used."""
        phone = phone or new_phone()
        if party_id == "auto":
            party_id = None if role in ("officer", "admin") else uuid.uuid4()
        body: dict[str, Any] = {
            "phone": phone,
            "password": password,
            "role": role,
            "display_name": display_name,
        }
        if party_id is not None:
            body["party_id"] = str(party_id)
        response = await self.client.post("/api/v1/accounts", json=body, headers=as_ or self.admin)
        assert response.status_code == 201, response.text
        return {**response.json(), "phone": phone, "password": password}

    async def partner(self) -> uuid.UUID:
        """A registered (active) partner platform: only those may hold OAuth clients."""
        from tests.registry.test_parties_support import partner_body

        response = await self.client.post(
            "/api/v1/partners", json=partner_body(), headers=self.admin
        )
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    async def login(self, phone: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/login", json={"phone": phone, "password": password}
        )

    async def tokens(self, phone: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.login(phone, password)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})

    async def me(self, token: str) -> httpx.Response:
        return await self.client.get("/api/v1/me", headers=auth(token))


def _state_per_request(app: ASGIApp) -> ASGIApp:
    """Give each request its own copy of the lifespan state, as uvicorn does.

    asgi_lifespan hands every request the *same* state dict, so anything a request stores on
    ``request.state`` (the kit caches the verified principal there) would leak into the next
    request: a call without a token would run as the previous caller.
    """

    async def app_with_state_copy(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "state" in scope:
            scope["state"] = dict(scope["state"])
        await app(scope, receive, send)

    return app_with_state_copy


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like tests.support.apps.running_app, with per-request state (see above)."""
    async with LifespanManager(
        _state_per_request(app), startup_timeout=30, shutdown_timeout=30
    ) as manager:
        await context(app).bus.wait_connected(timeout=15)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@asynccontextmanager
async def registry_app(
    backend: str, tmp_path: Path, nats_url: str, *, jwt_keys_file: Path | None = None
) -> AsyncIterator[Registry]:
    """The registry on a fresh migrated database; ``jwt_keys_file`` gives it private keys."""
    with service_database("registry", backend, tmp_path) as url:
        async with registry_on(url, nats_url, jwt_keys_file=jwt_keys_file) as registry:
            yield registry


@asynccontextmanager
async def registry_on(
    database_url: str, nats_url: str, *, jwt_keys_file: Path | None = None
) -> AsyncIterator[Registry]:
    """The registry on an existing, migrated database."""
    settings, platform = settings_for("registry", database_url, nats_url)
    if jwt_keys_file is not None:
        platform = PlatformSettings(nats_url=nats_url, jwt_keys_file=jwt_keys_file)
    app = create_app(settings, platform)
    async with running_app(app) as client:
        yield Registry(app, client, database_url)


def problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is a problem+json of ``status`` (and ``slug``); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if slug is not None:
        assert body["type"].endswith("/" + slug), body
    return body


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors") or []]


def dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()
