"""Helpers for the party tests (no tests here): a running registry, data factories, a reader
for the REGISTRY stream. Named ``test_parties_*`` to sit with the party tests.
"""

from __future__ import annotations

import io
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from nats.js.api import ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.envelope import CloudEvent
from services.kit.app import ServiceContext
from services.kit.idnumbers import (
    CREDIT_CODE_CHARSET,
    make_credit_code,
    make_id_card,
    mask_id_card,
    mask_mobile,
)
from services.kit.logging import JsonFormatter
from services.kit.principal import Role
from services.kit.tables import outbox
from services.registry.app import create_app
from tests.support.apps import context, eventually, settings_for
from tests.support.databases import service_database
from tests.support.tokens import bearer

PROBLEM = "application/problem+json"


class _Bearer(Mapping[str, str]):
    """Authorization header of a role, minted fresh on use (module import happens before the
    session's signing keys exist, and tokens are short-lived)."""

    def __init__(self, role: Role) -> None:
        self.role: Role = role

    def __getitem__(self, key: str) -> str:
        return bearer(self.role)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("Authorization",))

    def __len__(self) -> int:
        return 1


OFFICER: Mapping[str, str] = _Bearer("officer")
ADMIN: Mapping[str, str] = _Bearer("admin")

_issued: set[str] = set()


def new_id_card(*, female: bool = True, born: date | None = None) -> str:
    """A valid ID-card number of an adult from Duanzhou (441202), unique in this session."""
    while True:
        n = secrets.randbelow(9000 * 500)
        birth = born or date(1960, 1, 1) + timedelta(days=n % 9000)
        seq = (n // 9000) * 2 + (0 if female else 1)
        number = make_id_card("441202", birth, f"{seq:03d}")
        if number not in _issued:
            _issued.add(number)
            return number


_phones: set[str] = set()


def new_phone() -> str:
    """A valid mainland mobile number, unique in this session."""
    while True:
        phone = "138" + "".join(secrets.choice("0123456789") for _ in range(8))
        if phone not in _phones:
            _phones.add(phone)
            return phone


def new_credit_code() -> str:
    body = "".join(secrets.choice(CREDIT_CODE_CHARSET) for _ in range(9))
    return make_credit_code("91441200" + body)


def worker_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "陈秀英",
        "id_card_number": new_id_card(),
        "phone": new_phone(),
        "county": "gaoyao",
        "languages": ["cantonese", "mandarin"],
        "education": "junior_high",
        "tracks": ["maternal_infant"],
        "target_groups": ["4050"],
    }
    body.update(overrides)
    return body


def company_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "credit_code": new_credit_code(),
        "name": "肇庆市家嫂家政服务有限公司",
        "legal_representative": "梁志强",
        "county": "duanzhou",
        "address": "端州区天宁北路 1 号",
        "contact": {"name": "黄丽", "phone": new_phone()},
        "kind": "employee_based",
        "honours": ["全国家政服务业千户百强"],
    }
    body.update(overrides)
    return body


def institution_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "credit_code": new_credit_code(),
        "name": "肇庆市南粤家政职业培训学校",
        "legal_representative": "何建华",
        "county": "sihui",
        "address": "四会市东城街道 8 号",
        "contact": {"name": "罗敏", "phone": new_phone()},
        "level": "provincial_demonstration",
        "tracks": ["maternal_infant", "elderly_care"],
    }
    body.update(overrides)
    return body


def employer_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "张伟",
        "phone": new_phone(),
        "city": "guangzhou",
        "district": "天河区",
        "address": "珠江新城 10 号",
    }
    body.update(overrides)
    return body


def partner_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "深圳市好帮手人力资源有限公司",
        "credit_code": new_credit_code(),
        "city": "shenzhen",
        "kind": "recruitment_platform",
        "contact": {"name": "王芳", "phone": new_phone()},
        "webhook_url": "https://hr.example.cn/jiasao/events",
    }
    body.update(overrides)
    return body


def expires_in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def consent_body(recipient: str = "肇庆市人力资源和社会保障局", days: int = 365) -> dict[str, Any]:
    return {"scope": "credit_data", "recipient": recipient, "expires_at": expires_in(days)}


def problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is a problem+json of ``status`` (and ``slug``); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if slug is not None:
        assert body["type"].endswith("/" + slug), body
    return body


def error_fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors") or []]


def _state_per_request(app: ASGIApp) -> ASGIApp:
    """Each request gets its own copy of the lifespan state, as uvicorn does.

    asgi_lifespan shares one state dict between requests, and the kit caches the verified
    principal on ``request.state``: without this a request could run as the previous caller.
    """

    async def app_with_state_copy(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "state" in scope:
            scope["state"] = dict(scope["state"])
        await app(scope, receive, send)

    return app_with_state_copy


@dataclass
class Registry:
    """The running registry, an HTTP client to it, and shortcuts for common set-ups."""

    app: FastAPI
    client: httpx.AsyncClient
    database_url: str
    nats_url: str

    @property
    def ctx(self) -> ServiceContext:
        return context(self.app)

    async def post(
        self, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers)

    async def created(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=headers or OFFICER)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def worker(
        self, as_: Mapping[str, str] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        return await self.created("/api/v1/workers", worker_body(**overrides), as_)

    async def company(self, **overrides: Any) -> dict[str, Any]:
        return await self.created("/api/v1/companies", company_body(**overrides))

    async def institution(self, **overrides: Any) -> dict[str, Any]:
        return await self.created("/api/v1/institutions", institution_body(**overrides))

    async def employer(self, **overrides: Any) -> dict[str, Any]:
        return await self.created("/api/v1/employers", employer_body(**overrides))

    async def partner(self, **overrides: Any) -> dict[str, Any]:
        return await self.created("/api/v1/partners", partner_body(**overrides))

    async def employ(self, worker_id: str, company_id: str, **extra: Any) -> dict[str, Any]:
        return await self.created(
            f"/api/v1/workers/{worker_id}/employment", {"company_id": company_id, **extra}
        )

    async def status(
        self, worker_id: str, to: str, as_: Mapping[str, str] | None = None, reason: str = "test"
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/workers/{worker_id}/status",
            json={"to": to, "reason": reason},
            headers=as_ or OFFICER,
        )

    async def get(self, path: str, as_: Mapping[str, str] | None = None, **params: Any) -> Any:
        response = await self.client.get(path, headers=as_ or OFFICER, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def all_published(self) -> bool:
        async with self.ctx.db.read() as session:
            pending = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            total = await session.scalar(select(func.count()).select_from(outbox))
        return bool(total) and not pending

    async def events(self, subject: str = "registry.>") -> list[CloudEvent[Any]]:
        """Every event on the REGISTRY stream matching ``subject``, once all are published."""
        await eventually(self.all_published)
        return await read_stream(self.nats_url, subject)


async def read_stream(url: str, subject: str, stream: str = "REGISTRY") -> list[CloudEvent[Any]]:
    """All messages on ``subject`` in ``stream``, in order, through an ephemeral consumer."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            subject,
            stream=stream,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL, filter_subject=subject, inactive_threshold=5
            ),
        )
        try:
            pending = (await sub.consumer_info()).num_pending
            found: list[CloudEvent[Any]] = []
            while len(found) < pending:
                for message in await sub.fetch(pending - len(found), timeout=5):
                    found.append(CloudEvent[Any].model_validate_json(message.data))
                    await message.ack()
            return found
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


@asynccontextmanager
async def running_registry(backend: str, tmp_path: Path, nats_url: str) -> AsyncIterator[Registry]:
    """The registry on a fresh migrated database of ``backend``, with real NATS."""
    with service_database("registry", backend, tmp_path) as url:
        settings, platform = settings_for("registry", url, nats_url)
        app = create_app(settings, platform)
        async with LifespanManager(
            _state_per_request(app), startup_timeout=30, shutdown_timeout=30
        ) as manager:
            await context(app).bus.wait_connected(timeout=15)
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Registry(app, client, url, nats_url)


@contextmanager
def captured_logs(level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """Every log record, formatted as the services' JSON lines, into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("registry"))
    handler.setLevel(level)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


__all__ = [
    "ADMIN",
    "OFFICER",
    "Registry",
    "bearer",
    "captured_logs",
    "company_body",
    "consent_body",
    "employer_body",
    "error_fields",
    "expires_in",
    "institution_body",
    "mask_id_card",
    "mask_mobile",
    "new_credit_code",
    "new_id_card",
    "new_phone",
    "partner_body",
    "problem",
    "read_stream",
    "running_registry",
    "uuid",
    "worker_body",
]
