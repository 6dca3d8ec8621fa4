"""The plain-driver read path (kit.reads) on real SQLite and PostgreSQL: the same values and
types as a session returns, autocommit visibility, parameter checks, reconnect after the server
dropped its connections, and the engine fallback."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    insert,
    make_url,
    select,
    text,
)

from services.kit.db import Database
from services.kit.reads import EngineReader, PostgresReader, ReadQuery, SqliteReader
from services.kit.types import UtcDateTime
from tests.kit.schema_db import database_with
from tests.support.databases import backends

metadata = MetaData()
probe = Table(
    "kit_read_probe",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("note", String(40), nullable=True),
    Column("small", Integer, nullable=False),
    Column("big", BigInteger, nullable=False),
    Column("score", Float, nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("day", Date, nullable=True),
    Column("other_id", Uuid, nullable=True),
)

BY_ID = ReadQuery(select(probe).where(probe.c.id == bindparam("probe_id")))
#: Constants in the statement (the flag, the limit) are bound by the compiled plan itself.
FLAGGED = ReadQuery(
    select(probe.c.id, probe.c.name).where(probe.c.flag.is_(True)).order_by(probe.c.id).limit(2)
)
BY_NAME_AFTER = ReadQuery(
    select(probe.c.id)
    .where(probe.c.name == bindparam("name"), probe.c.at > bindparam("after"))
    .order_by(probe.c.id)
)

AT = dt.datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=dt.UTC)
ROWS: list[dict[str, Any]] = [
    {
        "id": uuid.UUID(int=i + 1),
        "name": "same" if i < 3 else f"n{i}",
        "note": None if i % 2 else "a note, with 中文",
        "small": i,
        "big": 2**40 + i,
        "score": 59.5 + i,
        "flag": i % 2 == 0,
        "at": AT + dt.timedelta(hours=i),
        "day": dt.date(2026, 1, 1 + i) if i % 2 else None,
        "other_id": uuid.uuid4() if i % 2 else None,
    }
    for i in range(5)
]


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_with(backend, tmp_path, metadata, "reads") as database:
        async with database.write() as session:
            await session.execute(insert(probe), ROWS)
        yield database


async def session_row(db: Database, probe_id: uuid.UUID) -> Any:
    async with db.read() as session:
        return (await session.execute(select(probe).where(probe.c.id == probe_id))).one()


async def test_the_plain_driver_is_used_on_file_and_server_databases(db: Database) -> None:
    assert isinstance(db._reader, SqliteReader if db.is_sqlite else PostgresReader)


async def test_a_row_has_the_values_and_types_a_session_returns(db: Database) -> None:
    for row in ROWS:
        fast = await db.fetch_one(BY_ID, probe_id=row["id"])
        expected = await session_row(db, row["id"])
        assert fast is not None
        assert tuple(fast) == tuple(expected)
        assert [type(v) for v in fast] == [type(v) for v in expected]
        assert fast.at == row["at"] and fast.at.tzinfo is not None
        assert fast.name == row["name"] and fast.note == row["note"]


async def test_constants_in_the_statement_and_several_parameters(db: Database) -> None:
    flagged = await db.fetch_all(FLAGGED)
    assert [(r.id, r.name) for r in flagged] == [(ROWS[0]["id"], "same"), (ROWS[2]["id"], "same")]
    after = await db.fetch_all(BY_NAME_AFTER, name="same", after=AT)
    assert [r.id for r in after] == [ROWS[1]["id"], ROWS[2]["id"]]


async def test_a_missing_row_is_none(db: Database) -> None:
    assert await db.fetch_one(BY_ID, probe_id=uuid.uuid4()) is None
    assert await db.fetch_all(BY_NAME_AFTER, name="nobody", after=AT) == []


async def test_a_committed_write_is_seen_at_once_an_open_one_never(db: Database) -> None:
    new = {**ROWS[0], "id": uuid.uuid4(), "name": "fresh"}
    async with db.write() as session:
        await session.execute(insert(probe).values(**new))
        await session.flush()
        # The writer holds its transaction (and on SQLite the write lock): the read neither
        # waits for it nor sees the uncommitted row.
        assert await asyncio.wait_for(db.fetch_one(BY_ID, probe_id=new["id"]), 10) is None
    row = await db.fetch_one(BY_ID, probe_id=new["id"])
    assert row is not None and row.name == "fresh"


async def test_parameters_are_checked(db: Database) -> None:
    with pytest.raises(TypeError, match="missing"):
        await db.fetch_one(BY_ID)
    with pytest.raises(TypeError, match="unknown"):
        await db.fetch_one(BY_ID, probe_id=ROWS[0]["id"], other=1)


async def test_reads_run_concurrently(db: Database) -> None:
    rows = await asyncio.gather(*(db.fetch_one(BY_ID, probe_id=r["id"]) for r in ROWS * 20))
    assert [row.id for row in rows] == [r["id"] for r in ROWS * 20]


async def test_the_engine_fallback_returns_the_same_rows(db: Database) -> None:
    fallback = EngineReader(db.read_engine)
    for row in ROWS:
        (fast,) = await db._reader.fetch(BY_ID, {"probe_id": row["id"]})
        (slow,) = await fallback.fetch(BY_ID, {"probe_id": row["id"]})
        assert tuple(fast) == tuple(slow) and fast._fields == slow._fields
    with pytest.raises(TypeError, match="unknown"):
        await fallback.fetch(BY_ID, {"probe_id": ROWS[0]["id"], "x": 1})


def _drop_connections_blocking(database_url: str) -> int:
    """Terminate every other session of the database and wait until they are gone, without
    yielding to the event loop (a plain function on purpose)."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        time.sleep(0.5)
    return int(row[0]) if row else 0


# Only PostgreSQL drops connections (a SQLite file does not): run on that backend alone.
@pytest.mark.parametrize("backend", [b for b in backends() if b == "postgresql"])
async def test_a_read_survives_the_server_dropping_its_connections(
    db: Database, backend: str
) -> None:
    await asyncio.gather(*(db.fetch_one(BY_ID, probe_id=r["id"]) for r in ROWS))
    # Drop them with the event loop blocked, so the pool cannot notice before the next read:
    # that read meets a dead connection, as after a server restart.
    assert _drop_connections_blocking(db.url) > 0
    row = await db.fetch_one(BY_ID, probe_id=ROWS[0]["id"])
    assert row is not None and row.id == ROWS[0]["id"]


def test_types_the_plain_drivers_do_not_handle_are_refused_up_front() -> None:
    table = Table("kit_read_blob", MetaData(), Column("id", Uuid), Column("doc", LargeBinary))
    with pytest.raises(TypeError, match="doc"):
        ReadQuery(select(table))


def test_in_lists_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match="IN lists"):
        ReadQuery(select(probe.c.id).where(probe.c.id.in_(bindparam("ids", expanding=True))))


async def test_an_in_memory_database_falls_back_to_the_engine() -> None:
    database = Database("sqlite+aiosqlite://")
    try:
        assert isinstance(database._reader, EngineReader)
    finally:
        await database.dispose()


def _count_threaded_reads(reader: SqliteReader, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the statements the reader hands to its threads (instrumentation, not a fake)."""
    calls: list[int] = []
    run = reader._run_threaded

    def counted(*args: Any) -> Any:
        calls.append(1)
        return run(*args)

    monkeypatch.setattr(reader, "_run_threaded", counted)
    return calls


#: Enough rows (5**4) that SQLite calls the progress handler while running it.
CROSS = ReadQuery(
    select(probe.c.id)
    .select_from(probe)
    .join(probe.alias("b"), text("1 = 1"))
    .join(probe.alias("c"), text("1 = 1"))
    .join(probe.alias("d"), text("1 = 1"))
)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sqlite_point_reads_stay_on_the_loop_long_ones_move_to_a_thread(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = db._reader
    assert isinstance(reader, SqliteReader)
    threaded = _count_threaded_reads(reader, monkeypatch)
    for row in ROWS:
        assert (await db.fetch_one(BY_ID, probe_id=row["id"])) is not None
    assert threaded == []
    monkeypatch.setattr(reader, "loop_budget", 0.0)  # every run over budget: the thread's turn
    assert len(await db.fetch_all(CROSS)) == 5**4
    assert threaded == [1]


async def test_a_sqlite_read_that_meets_a_lock_waits_on_a_thread_not_on_the_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In WAL mode a reader meets a lock only in rare moments (recovery, the last connection's
    checkpoint); a rollback-journal file shows the same path on demand: a writer holding an
    exclusive lock makes every reader's statement fail at once with SQLITE_BUSY."""
    path = tmp_path / "locked.db"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE kit_read_probe (id CHAR(32) PRIMARY KEY, name VARCHAR(40))")
    setup.execute("INSERT INTO kit_read_probe VALUES (?, 'x')", (ROWS[0]["id"].hex,))
    setup.commit()
    setup.close()
    table = Table("kit_read_probe", MetaData(), Column("id", Uuid), Column("name", String))
    query = ReadQuery(select(table).where(table.c.id == bindparam("probe_id")))
    engine = Database(f"sqlite+aiosqlite:///{path}")
    reader = SqliteReader(
        str(path),
        engine.read_engine.dialect,
        lambda connection: connection.execute("PRAGMA busy_timeout=30000"),
    )
    try:
        assert (await reader.fetch(query, {"probe_id": ROWS[0]["id"]}))[0].name == "x"
        threaded = _count_threaded_reads(reader, monkeypatch)
        locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        read = asyncio.create_task(reader.fetch(query, {"probe_id": ROWS[0]["id"]}))
        await asyncio.sleep(0.3)
        assert not read.done() and ticks >= 5  # waiting, and the loop runs meanwhile
        locker.execute("ROLLBACK")
        locker.close()
        rows = await asyncio.wait_for(read, 20)
        ticker.cancel()
        assert rows[0].id == ROWS[0]["id"] and threaded == [1]
    finally:
        await reader.close()
        await engine.dispose()


async def test_a_disposed_database_reads_again(db: Database) -> None:
    await db.fetch_one(BY_ID, probe_id=ROWS[0]["id"])
    await db.dispose()
    row = await db.fetch_one(BY_ID, probe_id=ROWS[0]["id"])
    assert row is not None and row.id == ROWS[0]["id"]


POSTGRES_ONLY = pytest.mark.parametrize("backend", [b for b in backends() if b == "postgresql"])
SLOW = ReadQuery(
    select(probe.c.id).where(probe.c.id == bindparam("probe_id"), text("pg_sleep(0.2) IS NOT NULL"))
)


@POSTGRES_ONLY
async def test_postgres_reads_share_at_most_max_size_connections(
    db: Database, backend: str
) -> None:
    reader = db._reader
    assert isinstance(reader, PostgresReader)
    rows = await asyncio.gather(*(db.fetch_one(BY_ID, probe_id=r["id"]) for r in ROWS * 30))
    assert [row.id for row in rows] == [r["id"] for r in ROWS * 30]
    assert 1 <= len(reader._members) <= reader.max_size
    assert not reader._waiters


@POSTGRES_ONLY
async def test_a_cancelled_postgres_read_leaks_no_connection(db: Database, backend: str) -> None:
    reader = db._reader
    assert isinstance(reader, PostgresReader)
    # More slow reads than connections: some run, the others wait for a connection.
    tasks = [
        asyncio.create_task(db.fetch_one(SLOW, probe_id=ROWS[0]["id"]))
        for _ in range(reader.max_size * 2)
    ]
    await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert not reader._waiters
    assert len(reader._members) <= reader.max_size
    # Every place is usable again: max_size slow reads at once all finish.
    rows = await asyncio.gather(
        *(db.fetch_one(SLOW, probe_id=ROWS[0]["id"]) for _ in range(reader.max_size))
    )
    assert all(row is not None for row in rows)
    assert len(reader._members) <= reader.max_size


@POSTGRES_ONLY
async def test_a_postgres_read_gives_up_waiting_for_a_connection(
    db: Database, backend: str
) -> None:
    reader = db._reader
    assert isinstance(reader, PostgresReader)
    reader.acquire_timeout = 0.05
    busy = [
        asyncio.create_task(db.fetch_one(SLOW, probe_id=ROWS[0]["id"]))
        for _ in range(reader.max_size)
    ]
    await asyncio.sleep(0.02)
    with pytest.raises(TimeoutError):
        await db.fetch_one(BY_ID, probe_id=ROWS[0]["id"])
    assert all(row is not None for row in await asyncio.gather(*busy))
    row = await db.fetch_one(BY_ID, probe_id=ROWS[0]["id"])
    assert row is not None and row.id == ROWS[0]["id"]
