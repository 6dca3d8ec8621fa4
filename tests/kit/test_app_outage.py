"""A request that meets an unavailable database gets 503 problem+json with Retry-After.

Real SQLite and PostgreSQL, really taken away (tests/kit/test_outage.py's Outage): SQLite's
directory is renamed, PostgreSQL's database refuses connections and its backends are ended.
Any other database error stays a 500.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import text

from devtools.nats import NatsServer
from services.kit.app import create_service_app
from services.kit.context import ServiceContext, get_ctx
from services.kit.db import Database
from services.kit.policy import public
from tests.kit.outage_harness import Outage
from tests.support.apps import context, running_app, settings_for

router = APIRouter(prefix="/api/v1")


@router.get("/now", dependencies=[Depends(public())])
async def database_now(ctx: ServiceContext = Depends(get_ctx)) -> dict[str, str]:
    async with ctx.db.write() as session:
        return {"now": str(await session.scalar(text("SELECT CURRENT_TIMESTAMP")))}


@router.get("/broken", dependencies=[Depends(public())])
async def broken_statement(ctx: ServiceContext = Depends(get_ctx)) -> None:
    async with ctx.db.write() as session:
        await session.execute(text("SELECT * FROM no_such_table"))


def _app(url: str, nats_url: str) -> Any:
    settings, platform = settings_for("rating", url, nats_url)
    return create_service_app(
        "rating", routers=[router], title="test", settings=settings, platform=platform
    )


async def test_an_unavailable_database_is_503_with_retry_after_and_back_after(
    outage_db: tuple[Database, Outage], nats_server: NatsServer, tmp_path: Path
) -> None:
    db, _ = outage_db
    app = _app(db.url, nats_server.url)
    async with running_app(app) as client:
        assert (await client.get("/api/v1/now")).status_code == 200
        broken = await client.get("/api/v1/broken")
        assert broken.status_code == 500  # a real error is not dressed up as an outage
        outage = Outage(context(app).db, _directory_of(db))
        await outage.begin()
        try:
            response = await client.get("/api/v1/now")
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "1"
            assert response.json()["status"] == 503
        finally:
            await outage.end()
        assert (await client.get("/api/v1/now")).status_code == 200


def _directory_of(db: Database) -> Path | None:
    return Path(db.url.split("///", 1)[1]).parent if db.is_sqlite else None
