"""A database outage for tests: really taken away, really brought back.

SQLite's directory is renamed (and the pools dropped, as a restarted process would find it);
PostgreSQL's test database refuses new connections and its backends are terminated.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from services.kit.db import Database
from tests.kit.kit_harness import create_schema
from tests.support.databases import POSTGRES_ENV, postgres_database


class Outage:
    """Takes the database away and brings it back."""

    def __init__(self, db: Database, directory: Path | None = None) -> None:
        self.db = db
        self.directory = directory

    async def begin(self, *, spare_pid: int | None = None) -> None:
        if self.directory is not None:
            self.directory.rename(self.directory.with_name("away"))
        else:
            name = make_url(self.db.url).database
            with psycopg.connect(_admin_url(), autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> %s",
                    (name, spare_pid or 0),
                )
        # Connections opened before stay usable on SQLite (open files); a real outage leaves
        # none, so the pools start over and every new connection fails until the end.
        await self.db.dispose()

    async def end(self) -> None:
        if self.directory is not None:
            self.directory.with_name("away").rename(self.directory)
        else:
            name = make_url(self.db.url).database
            with psycopg.connect(_admin_url(), autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def _admin_url() -> str:
    url = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def outage_db(backend: str, tmp_path: Path) -> AsyncIterator[tuple[Database, Outage]]:
    if backend == "sqlite":
        directory = tmp_path / "data"
        directory.mkdir()
        database = Database(f"sqlite+aiosqlite:///{directory / 'kit.db'}")
        await create_schema(database)
        yield database, Outage(database, directory)
        await database.dispose()
        return
    with postgres_database("jiasao_outage") as url:
        database = Database(url)
        await create_schema(database)
        yield database, Outage(database)
        await database.dispose()
