"""kit.pagination.keyset_page on real SQLite and PostgreSQL: every row exactly once, in key
order either way, the last page says so (also when it is exactly full), filters and whole rows,
and a cursor we did not issue is a 400."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, Uuid, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.kit.db import Database
from services.kit.errors import Problem
from services.kit.pagination import keyset_page
from tests.kit.schema_db import database_with


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "kit_page_items"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    colour: Mapped[str] = mapped_column(String(10))


IDS = [uuid.UUID(int=n) for n in (5, 1, 7, 3, 2, 6, 4)]  # inserted out of order


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_with(backend, tmp_path, Base.metadata, "pages") as database:
        rows = [{"id": i, "colour": "red" if i.int % 2 else "blue"} for i in IDS]
        async with database.write() as session:
            await session.execute(insert(Item), rows)
        yield database


async def walk(db: Database, query: Any, limit: int, **options: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = None
    while True:
        async with db.read() as session:
            rows, cursor = await keyset_page(session, query, Item.id, cursor, limit, **options)
        key_of = options.get("key_of", lambda row: row.id)
        pages.append([key_of(row).int for row in rows])
        if cursor is None:
            return pages
        assert len(pages) < 10, "the cursor does not advance"


async def test_every_row_once_in_key_order(db: Database) -> None:
    assert await walk(db, select(Item), 3) == [[1, 2, 3], [4, 5, 6], [7]]


async def test_an_exactly_full_last_page_has_no_next_cursor(db: Database) -> None:
    assert await walk(db, select(Item), 7) == [[1, 2, 3, 4, 5, 6, 7]]
    assert await walk(db, select(Item), 200) == [[1, 2, 3, 4, 5, 6, 7]]


async def test_descending_newest_first(db: Database) -> None:
    assert await walk(db, select(Item), 3, descending=True) == [[7, 6, 5], [4, 3, 2], [1]]


async def test_filters_apply_on_every_page(db: Database) -> None:
    assert await walk(db, select(Item).where(Item.colour == "red"), 2) == [[1, 3], [5, 7]]


async def test_whole_rows_with_their_key(db: Database) -> None:
    query = select(Item, Item.colour)
    pages = await walk(db, query, 4, whole_rows=True, key_of=lambda row: row[0].id)
    assert pages == [[1, 2, 3, 4], [5, 6, 7]]


@pytest.mark.parametrize("cursor", ["not-base64!", "eyJ4IjoxfQ", "bm90IGpzb24"])
async def test_a_cursor_we_did_not_issue_is_a_client_error(db: Database, cursor: str) -> None:
    async with db.read() as session:
        with pytest.raises(Problem) as problem:
            await keyset_page(session, select(Item), Item.id, cursor, 3)
    assert problem.value.status == 400
