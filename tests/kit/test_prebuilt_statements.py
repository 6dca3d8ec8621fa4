"""Statements built once per dialect (kit.dialect.per_dialect, kit.one_of.one_of_param), on
real SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, Uuid, select

from services.kit.dialect import per_dialect
from services.kit.one_of import one_of_param
from tests.kit.schema_db import database_with

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(20), nullable=False),
)

builds: list[str] = []


@per_dialect
def _named(dialect: str) -> Any:
    """The names of the things ``:ids``."""
    builds.append(dialect)
    return select(things.c.name).where(one_of_param(things.c.id, "ids", dialect))


async def test_a_statement_is_built_once_and_binds_any_number_of_values(
    backend: str, tmp_path: Path
) -> None:
    ids = [uuid.uuid4() for _ in range(4)]
    async with database_with(backend, tmp_path, metadata, "prebuilt") as db:
        async with db.write() as session:
            await session.execute(
                things.insert(), [{"id": i, "name": f"thing {n}"} for n, i in enumerate(ids)]
            )
        builds.clear()
        async with db.read() as session:
            found = [
                sorted((await session.scalars(_named(session), {"ids": chosen})).all())
                for chosen in (ids[:1], ids[1:3], [ids[3], uuid.uuid4()], [])
            ]
            assert _named(session) is _named(session)
    assert found == [["thing 0"], ["thing 1", "thing 2"], ["thing 3"], []]
    assert builds == [backend]  # one build for four lists of different lengths
    assert _named.__doc__ == "The names of the things ``:ids``."
