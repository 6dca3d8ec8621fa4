"""Write transactions on the plain driver (kit.transactions) on real SQLite and PostgreSQL:
commit and rollback, values and types as a session writes and reads them, row counts, the
on-commit callbacks, the outbox, and a connection the server dropped."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import (
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    insert,
    make_url,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from contracts.training import EnrollmentCompleted
from services.kit.db import Database
from services.kit.outbox import WROTE_OUTBOX, publish_in
from services.kit.pg_connections import PgConnections
from services.kit.statements import Statement
from services.kit.tables import outbox
from services.kit.transactions import (
    DriverTransaction,
    SessionTransaction,
    SqliteTransaction,
    fetch_one,
)
from services.kit.types import UtcDateTime
from tests.kit.schema_db import database_with
from tests.kit.test_reads import _drop_connections_blocking
from tests.support.databases import backends

metadata = MetaData()
ledger = Table(
    "kit_tx_probe",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("amount", Float, nullable=False),
    Column("count", Integer, nullable=False, default=0),
    Column("at", UtcDateTime, nullable=False),
    Column("day", Date, nullable=True),
)
COLUMNS = ("id", "name", "amount", "count", "at", "day")
ADD = Statement(insert(ledger).values({name: bindparam(name) for name in COLUMNS}))
BY_ID = Statement(select(ledger).where(ledger.c.id == bindparam("row_id")))
BUMP = Statement(
    update(ledger)
    .where(ledger.c.amount >= bindparam("at_least"))
    .values(count=ledger.c.count + 1)
    .returning(ledger.c.id, ledger.c.count)
)
RENAME = Statement(
    update(ledger).where(ledger.c.id == bindparam("row_id")).values(name=bindparam("new_name"))
)
ALL = Statement(select(ledger).order_by(ledger.c.name))
AT = dt.datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=dt.UTC)


def row(name: str, amount: float = 1.5, day: dt.date | None = None) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "name": name, "amount": amount, "count": 0, "at": AT, "day": day}


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_with(backend, tmp_path, metadata, "transactions") as database:
        await _outbox_table(database)
        yield database


async def _outbox_table(db: Database) -> None:
    async with db.write_engine.begin() as connection:
        await connection.run_sync(outbox.metadata.create_all, tables=[outbox])


async def stored(db: Database) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(select(ledger).order_by(ledger.c.name))).all())


async def test_the_plain_driver_runs_the_transaction(db: Database) -> None:
    async with db.transaction() as tx:
        if db.is_sqlite:
            assert isinstance(tx, SqliteTransaction)
        else:
            assert isinstance(tx, DriverTransaction)
            assert isinstance(db._writer, PgConnections)


async def test_a_committed_transaction_stores_what_a_session_reads_back(db: Database) -> None:
    first, second = row("first", 10.25, dt.date(2026, 2, 28)), row("second", 3.0)
    async with db.transaction() as tx:
        await tx.execute(ADD, **first)
        await tx.execute_many(ADD, [second])
        inside = await fetch_one(tx, BY_ID, row_id=first["id"])
    assert inside is not None and tuple(inside) == tuple(first.values())
    after = await stored(db)
    assert [tuple(r) for r in after] == [tuple(first.values()), tuple(second.values())]
    # The same types as the session's: a UUID, an aware datetime, a date.
    assert isinstance(inside.id, uuid.UUID) and inside.at == AT and inside.at.tzinfo is not None
    assert [type(v) for v in inside] == [type(v) for v in after[0]]


async def test_row_counts_and_returning(db: Database) -> None:
    rows = [row("a", 1.0), row("b", 5.0), row("c", 9.0)]
    async with db.transaction() as tx:
        await tx.execute_many(ADD, rows)
        bumped = await tx.fetch(BUMP, at_least=5.0)
        renamed = await tx.execute(RENAME, row_id=rows[0]["id"], new_name="a2")
        nobody = await tx.execute(RENAME, row_id=uuid.uuid4(), new_name="x")
        await tx.execute_many(ADD, [])  # nothing to do
    assert sorted((r.id, r.count) for r in bumped) == sorted((r["id"], 1) for r in rows[1:])
    assert (renamed, nobody) == (1, 0)
    assert [(r.name, r.count) for r in await stored(db)] == [("a2", 0), ("b", 1), ("c", 1)]


async def test_an_error_rolls_everything_back_and_the_database_stays_usable(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        await tx.execute(ADD, **row("kept"))
    failures = (asyncpg.UniqueViolationError, sqlite3.IntegrityError, IntegrityError)
    for _ in range(3):  # a connection left mid-transaction would fail the next round
        with pytest.raises(failures):
            async with db.transaction() as tx:
                await tx.execute(ADD, **row("lost"))
                await tx.execute(ADD, **row("kept"))  # the unique name: refused
        with pytest.raises(LookupError):
            async with db.transaction() as tx:
                await tx.execute(ADD, **row("also lost"))
                raise LookupError("the caller's own failure")
    assert [r.name for r in await stored(db)] == ["kept"]
    async with db.transaction() as tx:
        await tx.execute(ADD, **row("later"))
    assert [r.name for r in await stored(db)] == ["kept", "later"]


async def test_on_commit_callbacks_see_what_was_written_and_only_after_a_commit(
    db: Database,
) -> None:
    seen: list[dict[Any, Any]] = []
    db.on_commit(lambda committed: seen.append(dict(committed.info)))
    event = EnrollmentCompleted(
        enrollment_id=str(uuid.uuid4()),
        worker_id=str(uuid.uuid4()),
        course_id=str(uuid.uuid4()),
        course_title="母婴护理",
        track="maternal_infant",
        training_type="pre_job",
        hours=40,
        score=88,
        passed=True,
        completed_at=AT,
    )
    with pytest.raises(LookupError):
        async with db.transaction() as tx:
            await publish_in(tx, event)
            raise LookupError
    assert seen == []
    async with db.transaction() as tx:
        envelope = await publish_in(tx, event)
    assert seen == [{WROTE_OUTBOX: True}] if not db.is_sqlite else seen[0][WROTE_OUTBOX]
    async with db.read() as session:
        rows = (await session.execute(select(outbox))).all()
    assert [(r.event_id, r.subject, r.aggregate_id, r.attempts) for r in rows] == [
        (envelope.id, event.subject, envelope.subject, 0)
    ]
    assert rows[0].published_at is None and rows[0].created_at.tzinfo is not None


@pytest.mark.parametrize("backend", [b for b in backends() if b == "sqlite"])
async def test_while_another_process_holds_the_sqlite_write_lock_a_session_waits_for_it(
    db: Database, backend: str
) -> None:
    """The plain connection never waits on the event loop: when the file's write lock is
    taken (here by another connection, as by another process), the transaction runs in a
    session instead, whose busy handler waits on the engine's thread until the lock is free."""
    path = str(make_url(db.url).database)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, other.execute, "COMMIT")
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        async with db.transaction() as tx:
            assert isinstance(tx, SessionTransaction)
            await tx.execute(ADD, **row("waited"))
    finally:
        ticker.cancel()
        other.close()
    assert [r.name for r in await stored(db)] == ["waited"]
    assert ticks >= 10  # the loop kept running while the transaction waited ~0.3 s
    async with db.transaction() as tx:  # the lock is free again: the plain connection
        assert isinstance(tx, SqliteTransaction)


# Only PostgreSQL drops connections (a SQLite file does not): run on that backend alone.
@pytest.mark.parametrize("backend", [b for b in backends() if b == "postgresql"])
async def test_a_transaction_survives_the_server_dropping_idle_connections(
    db: Database, backend: str
) -> None:
    async with db.transaction() as tx:
        await tx.execute(ADD, **row("before"))
    # Dropped while the loop is blocked: the next BEGIN meets a dead connection, as after a
    # server restart; nothing was done on it yet, so a fresh one takes over.
    assert _drop_connections_blocking(db.url) > 0
    async with db.transaction() as tx:
        await tx.execute(ADD, **row("after"))
        names = [r.name for r in await tx.fetch(ALL)]
    assert names == ["after", "before"]


def test_a_column_left_to_a_python_default_is_refused_up_front() -> None:
    partial = Statement(insert(ledger).values(id=bindparam("id"), name=bindparam("name")))
    from sqlalchemy.dialects import postgresql

    with pytest.raises(ValueError, match="count"):
        partial.plan(postgresql.asyncpg.dialect())
