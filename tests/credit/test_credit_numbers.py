"""The per-year certificate counter on a real database (SQLite, and PostgreSQL if configured)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.credit.numbers import next_seq
from services.kit.db import Database
from tests.support.databases import service_database


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    with service_database("credit", backend, tmp_path) as url:
        database = Database(url)
        try:
            yield database
        finally:
            await database.dispose()


async def take(db: Database, year: int) -> int:
    async with db.write() as session:
        return await next_seq(session, year)


async def test_counts_per_year_from_one(db: Database) -> None:
    assert [await take(db, 2026) for _ in range(3)] == [1, 2, 3]
    assert await take(db, 2027) == 1
    assert await take(db, 2026) == 4


async def test_a_rolled_back_issue_gives_its_number_back(db: Database) -> None:
    assert await take(db, 2026) == 1
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            assert await next_seq(session, 2026) == 2
            raise RuntimeError("issuing failed after taking a number")
    assert await take(db, 2026) == 2


async def test_concurrent_issuers_get_distinct_consecutive_numbers(db: Database) -> None:
    # The first number of a year is where two issuers may race to create the counter row.
    numbers = await asyncio.gather(*(take(db, 2030) for _ in range(12)))
    assert sorted(numbers) == list(range(1, 13))
