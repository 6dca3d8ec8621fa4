"""Async SQLAlchemy engine and transactions for one service's own database.

SQLite (embedded default): WAL, a busy timeout, foreign keys on, and ``BEGIN IMMEDIATE`` for
writes so two writers queue on the lock instead of failing at commit with "database is locked".
PostgreSQL (production): asyncpg with a pool.

Code opens a transaction explicitly: ``async with db.write() as session`` for a unit of work
that changes state (commits on success, rolls back on error), ``db.read()`` for queries that need
a session. A single ``SELECT`` on a hot path goes through ``db.fetch_one`` / ``db.fetch_all``
with a :class:`~services.kit.reads.ReadQuery` instead: one autocommit statement on the plain
driver, 10-40x cheaper in CPU (see :mod:`services.kit.reads`). A hot write path that needs no
ORM objects runs Core statements in ``async with db.transaction() as tx`` instead: on the plain
driver on PostgreSQL (see :mod:`services.kit.transactions`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.kit import sqlite_driver
from services.kit.pg_connections import PgConnections
from services.kit.reads import EngineReader, PostgresReader, ReadQuery, Record, SqliteReader
from services.kit.transactions import (
    Committed,
    SessionTransaction,
    SqliteWriter,
    Transaction,
    driver_transaction,
    sqlite_transaction,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def sqlite_pragmas(connection: Any) -> None:
    """The pragmas of every connection to a service's SQLite file (engine or plain reader)."""
    cursor = connection.cursor()
    sqlite_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_wal(cursor: Any) -> None:
    """A busy timeout, and WAL (the migration's connection needs just these two)."""
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL is a property of the file: once set (by the migration, see kit.migrate), every later
    # connection only needs to see it. Asking for it again would take a write lock each time.
    cursor.execute("PRAGMA journal_mode")  # DB-API: execute's return value is unspecified
    if cursor.fetchone()[0].lower() != "wal":
        _switch_to_wal(cursor)


def _switch_to_wal(cursor: Any) -> None:
    """Turn a rollback-journal file into WAL, waiting out other connections doing the same.

    Two connections switching one file at the same moment both hold its shared lock and both
    want the exclusive one; SQLite breaks that deadlock by answering one of them "database is
    locked" at once, without its busy handler. Retrying is safe: the pragma is idempotent.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)  # first start of a fresh file only; a few ms at most
        pause = min(pause * 2, 0.05)


def _tune_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    """Pragmas per connection, and take the write lock at BEGIN when ``immediate``."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) emit BEGIN, so we choose its kind.
        dbapi_connection.isolation_level = None
        sqlite_pragmas(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(database_url: str, *, immediate: bool = True, **kwargs: Any) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connect_args = {
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            # One hand-off to aiosqlite's thread per statement (see kit.sqlite_driver).
            "async_creator_fn": sqlite_driver.connect,
        }
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        _tune_sqlite(engine, immediate=immediate)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_idle_connections(engine, IDLE_PING_SECONDS)
    return engine


#: A pooled PostgreSQL connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0
_LAST_USED = "kit_last_used"


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only if it sat idle, instead of ``pool_pre_ping``.

    The asyncpg dialect's ping is three round trips (BEGIN, ``;``, ROLLBACK): ~420 us of CPU on
    every transaction, 40 % of a one-statement transaction. A connection used moments ago is
    as likely to be alive as one just pinged; if the server did go away since, the statement
    fails and SQLAlchemy invalidates the whole pool, so only the work in flight (which would
    have failed anyway) sees it. A connection that waited longer (the server may have restarted
    meanwhile) is pinged, and replaced if the ping fails.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _handing_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and hands out a fresh one.
            raise DisconnectionError(f"an idle connection failed its ping: {exc!r}") from exc


class Database:
    """The engines and session factories of one service database."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.is_sqlite = make_url(database_url).get_backend_name() == "sqlite"
        self.write_engine = create_engine(database_url, immediate=True)
        # On SQLite, reads need no write lock: WAL lets them run beside a writer.
        self.read_engine = (
            create_engine(database_url, immediate=False) if self.is_sqlite else self.write_engine
        )
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._after_commit: list[Callable[[Committed], None]] = []
        self._write_turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._turn_owner: asyncio.Task[Any] | None = None
        self._reader = self._make_reader()
        self._writer = self._make_writer()
        self._sqlite_writer = self._make_sqlite_writer()
        #: Called with the SQL of each statement :meth:`transaction` sends on the plain driver
        #: (the engine's own events see those of sessions); for tests and diagnostics.
        self.statement_observers: list[Callable[[str], None]] = []

    def _make_reader(self) -> SqliteReader | PostgresReader | EngineReader:
        url = make_url(self.url)
        dialect = self.read_engine.dialect
        if self.is_sqlite:
            path = url.database
            # A plain connection opens the same file; an in-memory database would be another.
            if path and path != ":memory:" and not path.startswith("file:") and not url.query:
                return SqliteReader(
                    path, dialect, sqlite_pragmas, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
                )
        elif url.get_driver_name() == "asyncpg":
            _, connect_args = dialect.create_connect_args(url)
            return PostgresReader(connect_args, dialect)
        return EngineReader(self.read_engine)

    def _make_writer(self) -> PgConnections | None:
        """The connections of :meth:`transaction` on PostgreSQL (asyncpg); None elsewhere."""
        url = make_url(self.url)
        if self.is_sqlite or url.get_driver_name() != "asyncpg":
            return None
        _, connect_args = self.write_engine.dialect.create_connect_args(url)
        # As many as the plain-driver reader keeps: a transaction holds one for ~1-2 ms.
        return PgConnections(connect_args, max_size=5)

    def _make_sqlite_writer(self) -> SqliteWriter | None:
        """The plain connection of :meth:`transaction` on a SQLite file; None elsewhere."""
        if isinstance(self._reader, SqliteReader):  # a file the plain driver can open
            return SqliteWriter(self._reader.path, sqlite_pragmas)
        return None

    def on_commit(self, callback: Callable[[Committed], None]) -> None:
        """Call ``callback(session or transaction)`` after each successful write transaction."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Core statements in one write transaction (:mod:`services.kit.transactions`):
        commits when the block ends normally, rolls back on any error."""
        dialect = self.write_engine.dialect
        if self._writer is not None:
            async with driver_transaction(self._writer, dialect, self.statement_observers) as tx:
                yield tx
            self._committed(tx)
            return
        if self._sqlite_writer is not None:
            async with self._writer_turn():
                connection = await self._sqlite_writer.begin()
                if connection is not None:
                    observers = self.statement_observers
                    async with sqlite_transaction(connection, dialect, observers) as on_file:
                        yield on_file
                    self._committed(on_file)
                    return
            # Another process holds the file's write lock: wait for it as a session does
            # (SQLite's busy handler, on the engine's thread), not on the loop.
        async with self.write() as session:
            yield SessionTransaction(session)

    def _committed(self, committed: Committed) -> None:
        for callback in self._after_commit:
            callback(committed)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back on any error.

        On SQLite the process's writers take turns first-come first-served (SQLite has one
        writer at a time anyway): waiting in SQLite's busy handler instead, a request polls the
        lock every 100 ms and can lose it for seconds to a consumer that commits and begins
        again at once. Other processes still meet on the file lock (``BEGIN IMMEDIATE``).
        """
        async with self._writer_turn(), self._write_sessions() as session:
            async with session.begin():
                yield session
            self._committed(session)

    @asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if not self.is_sqlite or self._turn_owner is task:
            yield  # PostgreSQL; or a write nested in this task's own: the file lock decides
            return
        loop = asyncio.get_running_loop()
        if self._write_turn is None or self._write_turn[0] is not loop:
            self._write_turn = (loop, asyncio.Lock())
        async with self._write_turn[1]:
            self._turn_owner = task
            try:
                yield
            finally:
                self._turn_owner = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session, session.begin():
            yield session

    async def fetch_all(self, query: ReadQuery, **params: Any) -> list[Record]:
        """All rows of one ``SELECT``, run alone in autocommit (no session, no ``BEGIN``)."""
        return await self._reader.fetch(query, params)

    async def fetch_one(self, query: ReadQuery, **params: Any) -> Record | None:
        """The first row of one ``SELECT`` (autocommit), or None."""
        rows = await self._reader.fetch(query, params)
        return rows[0] if rows else None

    async def ping(self) -> None:
        async with self.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self._reader.close()
        if self._writer is not None:
            await self._writer.close()
        if self._sqlite_writer is not None:
            self._sqlite_writer.close()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
