"""PostgreSQL connections are pinged before use only after sitting idle (kit.db).

Real PostgreSQL: the server ends the pooled connection's backend, as a restart would. An idle
connection is replaced before anyone uses it; a busy one fails the one transaction that meets
it, as a ping could not have prevented either, and the next transaction gets a fresh one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from services.kit import db as kit_db
from services.kit.db import Database
from tests.support.databases import POSTGRES_ENV, postgres_database

pytestmark = pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} unset")


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_database("jiasao_idle_ping") as database_url:
        yield database_url


def _terminate_backends(database_url: str) -> int:
    name = make_url(database_url).database
    admin = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return len(rows)


async def _backend_pid(db: Database) -> int:
    async with db.write() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")))


async def test_an_idle_connection_whose_server_went_away_is_replaced_before_use(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kit_db, "IDLE_PING_SECONDS", 0.2)
    db = Database(url)
    try:
        first = await _backend_pid(db)
        assert _terminate_backends(url) == 1
        await asyncio.sleep(0.4)  # idle longer than the threshold: pinged, found dead, replaced
        assert await _backend_pid(db) != first
    finally:
        await db.dispose()


async def test_a_busy_connection_fails_once_and_the_pool_starts_over(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kit_db, "IDLE_PING_SECONDS", 3600)
    db = Database(url)
    try:
        first = await _backend_pid(db)
        assert _terminate_backends(url) == 1
        with pytest.raises(DBAPIError) as failure:
            await _backend_pid(db)  # used moments ago: not pinged, meets the dead backend
        assert failure.value.connection_invalidated
        assert await _backend_pid(db) != first
    finally:
        await db.dispose()


async def test_connections_in_steady_use_are_not_pinged(url: str) -> None:
    db = Database(url)
    pings: list[object] = []
    original = db.write_engine.dialect.do_ping

    def counting_ping(connection: object) -> bool:
        pings.append(connection)
        return original(connection)

    db.write_engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
    try:
        for _ in range(50):
            await _backend_pid(db)
        assert pings == []
    finally:
        await db.dispose()
