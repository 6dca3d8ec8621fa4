"""A real database on either backend with a test's own tables (created directly, not by a
service's migrations: they exist only for the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import MetaData

from services.kit.db import Database
from tests.support.databases import postgres_database


@asynccontextmanager
async def database_with(
    backend: str, tmp_path: Path, metadata: MetaData, name: str
) -> AsyncIterator[Database]:
    """A :class:`Database` on ``backend`` holding ``metadata``'s tables; disposed after."""
    if backend == "sqlite":
        async with _created(f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}", metadata) as db:
            yield db
        return
    with postgres_database(f"jiasao_{name}") as url:
        async with _created(url, metadata) as db:
            yield db


@asynccontextmanager
async def _created(url: str, metadata: MetaData) -> AsyncIterator[Database]:
    database = Database(url)
    try:
        async with database.write_engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield database
    finally:
        await database.dispose()
