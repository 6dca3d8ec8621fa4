"""Single-statement reads without the ORM session, a transaction or a thread hop per statement.

The hot reads of the platform (one course, one worker by id) spent ~2 ms of CPU in
``AsyncSession.get`` under an explicit ``BEGIN``: the session, the greenlet bridge, the pool
checkout with its pre-ping, and aiosqlite's thread hop for every statement, when the query itself
costs ~0.02 ms. A :class:`ReadQuery` is a Core ``SELECT`` compiled once per dialect (SQL text,
parameter order, and SQLAlchemy's own bind and result processors for its column types, so values
come back exactly as a session returns them) and run as one autocommit statement:

- SQLite: plain read-only ``sqlite3`` connections with the engine's pragmas. The statement
  runs on the event loop (~15 us), which it may never hold up: no busy timeout there, and a
  progress handler stops it after a couple of milliseconds; then it runs again on a reader
  thread (see :class:`SqliteReader` for why not always on a thread). Without ``BEGIN`` the
  statement is its own read transaction, so it sees one consistent snapshot.
- PostgreSQL: a few asyncpg connections of its own (asyncpg caches the prepared statement
  per connection), handed from read to read without asyncpg's pool; no transaction. A
  connection that died (server restart) is replaced and the read retried once.
- Anything else (an in-memory SQLite database, exotic URLs): the engine, with Core and no ORM.

Use a session (``Database.read()``) for anything more: several statements that must see one
snapshot, ORM objects to change, IN lists.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.pg_connections import CONNECTION_LOST, PgConnections
from services.kit.statements import Plan, Record, Statement


class ReadQuery(Statement):
    """A Core ``SELECT`` declared once (module level) with named parameters::

    COURSE = ReadQuery(select(courses).where(courses.c.id == bindparam("course_id")))
    row = await db.fetch_one(COURSE, course_id=course_id)  # row.title, or None
    """

    def __init__(self, statement: Select[Any]) -> None:
        if any(bind.expanding for bind in statement.compile().binds.values()):
            raise ValueError("ReadQuery does not take IN lists; read them through a session")
        super().__init__(statement)


#: SQLite result codes after which a statement that ran on the loop is run again on a thread.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_INTERRUPT = 5, 6, 9


class SqliteReader:
    """Reads of one SQLite file on plain ``sqlite3`` connections.

    A point read costs ~15 us of CPU on the event loop. Handed to a thread it costs ~50 us and,
    worse, a wait for the GIL: while the loop is busy, every hand-off waits for it to let go
    (up to the 5 ms switch interval), and 32 concurrent clients got 419 reads/s that way. So a
    statement runs on the loop, but never *waits* there: the loop's connection has no busy
    timeout, and a progress handler interrupts it once it has run for ``loop_budget`` seconds.
    A statement that meets a lock or runs long is run again on a reader thread, with the full
    busy timeout, while the loop serves others.
    """

    def __init__(
        self,
        path: str,
        dialect: Dialect,
        configure: Callable[[sqlite3.Connection], None],
        *,
        threads: int = 2,
        timeout: float = 30.0,
        loop_budget: float = 0.002,
    ) -> None:
        self.path = path
        self.dialect = dialect
        self.configure = configure
        self.timeout = timeout
        self.loop_budget = loop_budget
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self.threads = threads
        self._threads: ThreadPoolExecutor | None = None
        self._on_loop: sqlite3.Connection | None = None
        self._deadline = 0.0

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: the driver never opens a transaction, each SELECT is one.
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        self.configure(connection)
        connection.execute("PRAGMA query_only=ON")
        with self._guard:
            self._connections.append(connection)
        return connection

    def _open_for_loop(self) -> sqlite3.Connection:
        """Opened on a thread (the pragmas may wait for a lock), then used on the loop only."""
        connection = self._open()
        connection.execute("PRAGMA busy_timeout=0")
        connection.set_progress_handler(self._over_budget, 1000)
        return connection

    def _over_budget(self) -> bool:
        return time.perf_counter() > self._deadline

    def _executor(self) -> ThreadPoolExecutor:
        # Made on first use, and again after close(): an engine can be used after dispose().
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.threads, thread_name_prefix="kit-sqlite-read")
        return self._threads

    def _run_threaded(self, plan: Plan, args: list[Any]) -> list[Record]:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return self._rows(plan, connection.execute(plan.sql, args).fetchall())

    @staticmethod
    def _rows(plan: Plan, raw: list[Any]) -> list[Record]:
        if plan.result_processors is None:
            # pysqlite reports no column types; the processors depend on the declared ones.
            plan.learn_result_types([None] * len(plan.types))
        return plan.rows(raw)

    async def fetch(self, query: ReadQuery, params: Mapping[str, Any]) -> list[Record]:
        plan = query.plan(self.dialect)
        args = plan.args(params)
        loop = asyncio.get_running_loop()
        if self._on_loop is None:
            connection = await loop.run_in_executor(self._executor(), self._open_for_loop)
            if self._on_loop is None:
                self._on_loop = connection
        self._deadline = time.perf_counter() + self.loop_budget
        try:
            raw = self._on_loop.execute(plan.sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in (
                _SQLITE_BUSY,
                _SQLITE_LOCKED,
                _SQLITE_INTERRUPT,
            ):
                raise
            return await loop.run_in_executor(self._executor(), self._run_threaded, plan, args)
        return self._rows(plan, raw)

    async def close(self) -> None:
        threads, self._threads = self._threads, None
        if threads is not None:
            await asyncio.get_running_loop().run_in_executor(None, threads.shutdown)
        with self._guard:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._on_loop = None


class PostgresReader(PgConnections):
    """Reads on a few asyncpg connections of their own (:class:`PgConnections`).

    These connections only run plain SELECTs outside a transaction. A connection that died
    (server restart) is replaced and the read retried once.
    """

    def __init__(
        self,
        connect_args: Mapping[str, Any],
        dialect: Dialect,
        *,
        max_size: int = 5,
        acquire_timeout: float = 30.0,
    ) -> None:
        super().__init__(connect_args, max_size=max_size, acquire_timeout=acquire_timeout)
        self.dialect = dialect

    async def fetch(self, query: ReadQuery, params: Mapping[str, Any]) -> list[Record]:
        plan = query.plan(self.dialect)
        args = plan.args(params)
        for attempt in range(2):
            connection = await self.acquire()
            try:
                if plan.result_processors is None:
                    prepared = await connection.prepare(plan.sql)
                    plan.learn_result_types([a.type.oid for a in prepared.get_attributes()])
                raw = await connection.fetch(plan.sql, *args)
            except CONNECTION_LOST:
                self.discard(connection)
                if attempt:
                    raise
                self.discard_idle()  # after a server restart every idle one is dead too
                continue
            except BaseException:
                self.discard(connection)
                raise
            self.release(connection)
            return plan.rows(raw)
        raise AssertionError("unreachable")


class EngineReader:
    """The fallback: Core on the engine's own connections (no ORM, no session)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def fetch(self, query: ReadQuery, params: Mapping[str, Any]) -> list[Record]:
        plan = query.plan(self.engine.dialect)
        plan.args(params)  # the same parameter checks as the fast readers
        async with self.engine.connect() as connection:
            result = await connection.execute(query.statement, dict(params))
            return [query.row_type._make(row) for row in result]

    async def close(self) -> None:
        """The engine is disposed by its owner."""
