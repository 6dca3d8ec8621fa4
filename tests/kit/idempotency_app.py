"""A service-shaped app for idempotency tests, also run as a subprocess (``uvicorn --factory``).

Routes: ``/api/v1/orders`` (echoes the body, numbered), ``/api/v1/secrets`` (answers a
credential), ``/api/v1/slow`` (waits ``seconds`` before answering, so a test can kill the
process mid-request or race two retries).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Response

from services.kit.app import create_service_app
from services.kit.policy import authenticated
from services.kit.settings import PlatformSettings, ServiceSettings

counter = itertools.count(1)
router = APIRouter(prefix="/api/v1", dependencies=[Depends(authenticated())])


@router.post("/orders", status_code=201)
async def create_order(payload: dict[str, Any], response: Response) -> dict[str, Any]:
    number = next(counter)
    response.headers["Location"] = f"/api/v1/orders/{number}"
    if payload.get("explode"):
        raise RuntimeError("server bug")
    return {"number": number, **payload}


@router.post("/secrets", status_code=201)
async def create_secret(response: Response) -> dict[str, Any]:
    number = next(counter)
    response.headers["Location"] = f"/api/v1/secrets/{number}"
    return {"number": number, "client_secret": f"s3cr3t-{number}"}


@router.post("/slow", status_code=201)
async def slow(payload: dict[str, Any]) -> dict[str, Any]:
    # A restarted subprocess runs with TEST_SLOW=0, so the same request then answers at once.
    if os.environ.get("TEST_SLOW", "1") == "1":
        await asyncio.sleep(float(payload.get("seconds", 0)))
    return {"number": next(counter)}


def make_app(database_url: str, nats_url: str, **overrides: Any) -> FastAPI:
    settings = ServiceSettings(name="rating", port=0, database_url=database_url, **overrides)
    return create_service_app(
        "rating",
        routers=[router],
        title="idempotency test",
        settings=settings,
        platform=PlatformSettings(nats_url=nats_url),
    )


def create_app() -> FastAPI:
    """Subprocess entry point: the database and NATS come from the environment."""
    return make_app(os.environ["TEST_DATABASE_URL"], os.environ["TEST_NATS_URL"])
