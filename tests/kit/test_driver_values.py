"""Lists of values (kit.one_of.one_of_param) and JSON columns on the plain driver
(kit.transactions, kit.reads) on real SQLite and PostgreSQL, and through a session: the same
rows, one compiled statement for every list length, JSON values equal either way."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect

from services.kit.db import Database
from services.kit.one_of import one_of_param
from services.kit.reads import ReadQuery
from services.kit.statements import Statement
from services.kit.transactions import DriverTransaction, SessionTransaction, SqliteTransaction
from tests.kit.schema_db import database_with

metadata = MetaData()
things = Table(
    "kit_values_probe",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("rank", Integer, nullable=False),
    Column("doc", JSON, nullable=True),
)
ADD = Statement(
    insert(things).values(
        id=bindparam("id"), code=bindparam("code"), rank=bindparam("rank"), doc=bindparam("doc")
    )
)
ADD_RETURNING = Statement(
    insert(things)
    .values(
        id=bindparam("id"), code=bindparam("code"), rank=bindparam("rank"), doc=bindparam("doc")
    )
    .returning(things.c.id, things.c.doc)
)
DOC = Statement(select(things.c.doc).where(things.c.id == bindparam("id")))
SET_DOC = Statement(
    update(things).where(things.c.id == bindparam("id")).values(doc=bindparam("doc"))
)
SET_DOC_RETURNING = Statement(
    update(things)
    .where(things.c.code == bindparam("code"))
    .values(doc=bindparam("doc"))
    .returning(things.c.code, things.c.doc)
)


def by_ids(dialect: str) -> Statement:
    return Statement(
        select(things.c.code)
        .where(one_of_param(things.c.id, "ids", dialect))
        .order_by(things.c.code)
    )


def by_codes(dialect: str) -> Statement:
    return Statement(
        select(things.c.id, things.c.code)
        .where(one_of_param(things.c.code, "codes", dialect))
        .order_by(things.c.code)
    )


#: JSON values: an object, a list, unicode text, nesting, numbers, booleans and null inside.
DOCS: list[Any] = [
    {"reason": "守信激励", "score": 12.5, "ok": True, "none": None},
    [{"rule": "培训合格", "weight": 3}, {"rule": "家嫂之星", "tags": ["母婴", "养老"]}],
    {"nested": {"deeper": {"list": [1, 2, [3, {"x": "ü"}]]}}, "empty": {}, "blank": []},
    "纯文本",
    42,
]


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_with(backend, tmp_path, metadata, "driver_values") as database:
        yield database


def _session_tx(db: Database) -> Callable[[], AbstractAsyncContextManager[SessionTransaction]]:
    @asynccontextmanager
    async def begin() -> AsyncIterator[SessionTransaction]:
        async with db.write() as session:
            yield SessionTransaction(session)

    return begin


def _dialect(db: Database) -> Dialect:
    return db.write_engine.dialect


async def _add(db: Database, codes: list[str]) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in codes]
    async with db.transaction() as tx:
        await tx.execute_many(
            ADD,
            [
                {"id": id_, "code": code, "rank": n, "doc": None}
                for n, (id_, code) in enumerate(zip(ids, codes, strict=True))
            ],
        )
    return ids


@pytest.mark.parametrize("way", ["driver", "session"])
async def test_one_of_param_answers_lists_of_any_length_with_one_statement(
    db: Database, way: str
) -> None:
    ids = await _add(db, ["alpha", "beta", "gamma", "delta"])
    dialect = _dialect(db)
    ids_query, codes_query = by_ids(dialect.name), by_codes(dialect.name)
    seen_sql: set[str] = set()
    db_tx = db.transaction if way == "driver" else _session_tx(db)
    unknown = uuid.uuid4()
    cases: list[tuple[list[uuid.UUID], list[str]]] = [
        ([], []),
        ([ids[1]], ["beta"]),
        ([ids[2], unknown, ids[0]], ["alpha", "gamma"]),
    ]
    for values, expected in cases:
        async with db_tx() as tx:
            if way == "driver":
                assert isinstance(tx, SqliteTransaction | DriverTransaction)
            found = await tx.fetch(ids_query, ids=values)
            codes = list(expected) + (["nobody"] if len(values) == 3 else [])
            by_code = await tx.fetch(codes_query, codes=codes)
        assert [r.code for r in found] == expected
        assert [(r.id, r.code) for r in by_code] == [(ids[_index(c)], c) for c in expected]
        assert all(isinstance(r.id, uuid.UUID) for r in by_code)
        seen_sql.add(ids_query.plan(dialect).sql)
    # Compiled once: one plan, one SQL text whatever the length.
    assert len(seen_sql) == 1
    assert ids_query.plan(dialect) is ids_query.plan(dialect)
    sql = ids_query.plan(dialect).sql
    if dialect.name == "sqlite":
        assert "json_each(?)" in sql and "IN (SELECT value" in sql
    else:
        assert "= ANY ($1::UUID[])" in sql


def _index(code: str) -> int:
    return ["alpha", "beta", "gamma", "delta"].index(code)


async def test_one_of_param_in_a_read_query(db: Database) -> None:
    """The plain-driver reader (kit.reads) takes the list too."""
    ids = await _add(db, ["one", "two", "three"])
    query = ReadQuery(
        select(things.c.code)
        .where(one_of_param(things.c.id, "ids", _dialect(db).name))
        .order_by(things.c.code)
    )
    assert await db.fetch_all(query, ids=[]) == []
    assert [r.code for r in await db.fetch_all(query, ids=[ids[0], ids[2], uuid.uuid4()])] == [
        "one",
        "three",
    ]


async def test_json_written_on_the_driver_reads_back_equal_through_a_session(
    db: Database,
) -> None:
    ids = [uuid.uuid4() for _ in DOCS]
    async with db.transaction() as tx:
        assert not isinstance(tx, SessionTransaction)
        await tx.execute(ADD, id=ids[0], code="c0", rank=0, doc=DOCS[0])
        await tx.execute_many(
            ADD,
            [
                {"id": id_, "code": f"c{n}", "rank": n, "doc": doc}
                for n, (id_, doc) in enumerate(zip(ids, DOCS, strict=True))
                if n
            ],
        )
        inside = [(await tx.fetch(DOC, id=id_))[0].doc for id_ in ids]
    assert inside == DOCS
    async with db.read() as session:
        rows = (await session.execute(select(things.c.id, things.c.doc))).all()
    assert {r.id: r.doc for r in rows} == dict(zip(ids, DOCS, strict=True))
    # Stored as JSON the database understands (not a quoted string of it).
    async with db.read() as session:
        key = "'$.reason'" if db.is_sqlite else "'reason'"
        op = "json_extract(doc, {})" if db.is_sqlite else "doc->>{}"
        reason = await session.scalar(
            text(f"SELECT {op.format(key)} FROM kit_values_probe WHERE code = 'c0'")
        )
    assert reason == "守信激励"


async def test_json_written_through_a_session_reads_back_equal_on_the_driver(
    db: Database,
) -> None:
    ids = [uuid.uuid4() for _ in DOCS]
    async with db.write() as session:
        await session.execute(
            insert(things),
            [
                {"id": id_, "code": f"s{n}", "rank": n, "doc": doc}
                for n, (id_, doc) in enumerate(zip(ids, DOCS, strict=True))
            ],
        )
    async with db.transaction() as tx:
        assert not isinstance(tx, SessionTransaction)
        read = [(await tx.fetch(DOC, id=id_))[0].doc for id_ in ids]
    assert read == DOCS
    # The plain-driver reader gives the same.
    query = ReadQuery(select(things.c.doc).where(things.c.id == bindparam("id")))
    assert [(await db.fetch_all(query, id=id_))[0].doc for id_ in ids] == DOCS


async def test_json_update_and_returning_on_the_driver(db: Database) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with db.transaction() as tx:
        returned = await tx.fetch(ADD_RETURNING, id=first, code="r1", rank=1, doc=DOCS[1])
        assert [(r.id, r.doc) for r in returned] == [(first, DOCS[1])]
        await tx.execute(ADD, id=second, code="r2", rank=2, doc={"v": 1})
        assert await tx.execute(SET_DOC, id=first, doc=DOCS[2]) == 1
        updated = await tx.fetch(SET_DOC_RETURNING, code="r2", doc=["新", {"v": 2}])
        assert [(r.code, r.doc) for r in updated] == [("r2", ["新", {"v": 2}])]
    async with db.read() as session:
        rows = dict((await session.execute(select(things.c.code, things.c.doc))).all())
    assert rows == {"r1": DOCS[2], "r2": ["新", {"v": 2}]}


async def test_json_none_is_stored_as_a_session_stores_it(db: Database) -> None:
    """A None bound to a JSON column is JSON ``null`` through a session (none_as_null is
    off); the plain driver stores the same."""
    driver_id, session_id = uuid.uuid4(), uuid.uuid4()
    async with db.transaction() as tx:
        await tx.execute(ADD, id=driver_id, code="n1", rank=1, doc=None)
    async with db.write() as session:
        await session.execute(
            insert(things), {"id": session_id, "code": "n2", "rank": 2, "doc": None}
        )
    async with db.read() as session:
        stored = (
            await session.execute(
                text("SELECT code, doc IS NULL FROM kit_values_probe ORDER BY code")
            )
        ).all()
        docs = (await session.execute(select(things.c.doc))).scalars().all()
    # Both alike: JSON null (not SQL NULL) on either path.
    assert [(r[0], bool(r[1])) for r in stored] == [("n1", False), ("n2", False)]
    assert docs == [None, None]


def test_the_sqlite_list_is_one_json_text_of_the_stored_values() -> None:
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.pysqlite.dialect()
    plan = by_ids("sqlite").plan(dialect)
    one = uuid.UUID(int=1)
    (arg,) = plan.args({"ids": [one, None]})
    assert json.loads(arg) == [one.hex, None]
    assert plan.args({"ids": []}) == ["[]"]
