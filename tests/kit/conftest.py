"""Kit fixtures: a schema'd database per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.kit.db import Database
from tests.kit.kit_harness import create_schema
from tests.kit.outage_harness import outage_db  # noqa: F401  (a fixture for the outage tests)
from tests.support.databases import postgres_database


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
        await create_schema(database)
        yield database
        await database.dispose()
        return
    with postgres_database("jiasao_kit") as url:
        database = Database(url)
        await create_schema(database)
        yield database
        await database.dispose()
