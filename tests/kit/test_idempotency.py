"""Idempotency-Key on POST: a retry replays the first answer and does the work once."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response

from devtools.nats import NatsServer
from services.kit.app import create_service_app
from tests.kit.kit_harness import create_schema
from tests.support.apps import context, running_app, settings_for

counter = itertools.count(1)
router = APIRouter(prefix="/api/v1")


@router.post("/orders", status_code=201)
async def create_order(payload: dict[str, Any], response: Response) -> dict[str, Any]:
    number = next(counter)
    response.headers["Location"] = f"/api/v1/orders/{number}"
    if payload.get("explode"):
        raise RuntimeError("server bug")
    return {"number": number, **payload}


def make_app(tmp_path: Path, nats_url: str) -> Any:
    settings, platform = settings_for(
        "rating", f"sqlite+aiosqlite:///{tmp_path / 'i.db'}", nats_url
    )
    return create_service_app(
        "rating", routers=[router], title="t", settings=settings, platform=platform
    )


async def test_retry_with_same_key_replays_first_response(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    app = make_app(tmp_path, nats_server.url)
    async with running_app(app) as client:
        await create_schema(context(app).db)
        key = {"Idempotency-Key": "order-7f3a9c21"}
        first = await client.post("/api/v1/orders", json={"item": "mop"}, headers=key)
        again = await client.post("/api/v1/orders", json={"item": "mop"}, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers

        # Another caller may use the same key for its own request.
        other = await client.post(
            "/api/v1/orders",
            json={"item": "mop"},
            headers={**key, "Authorization": "Bearer someone-else"},
        )
        assert other.json()["number"] != first.json()["number"]

        reused = await client.post("/api/v1/orders", json={"item": "broom"}, headers=key)
        assert reused.status_code == 422
        assert reused.json()["type"].endswith("/idempotency-key-reused")

        without = await client.post("/api/v1/orders", json={"item": "mop"})
        assert without.json()["number"] != first.json()["number"]


async def test_bad_key_is_400_and_server_errors_are_not_remembered(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    app = make_app(tmp_path, nats_server.url)
    async with running_app(app) as client:
        await create_schema(context(app).db)
        short = await client.post("/api/v1/orders", json={}, headers={"Idempotency-Key": "x"})
        assert short.status_code == 400
        assert short.json()["type"].endswith("/invalid-idempotency-key")

        key = {"Idempotency-Key": "explode-0001"}
        failed = await client.post("/api/v1/orders", json={"explode": True}, headers=key)
        assert failed.status_code == 500
        retried = await client.post("/api/v1/orders", json={"explode": True}, headers=key)
        assert retried.status_code == 500
        assert "idempotent-replayed" not in retried.headers
