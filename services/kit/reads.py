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
from collections import deque, namedtuple
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Column types whose values the plain drivers return as the engine does once SQLAlchemy's
#: processors have run (JSON and arrays are not: the engine sets up codecs for those).
SUPPORTED_TYPES: tuple[type[TypeEngine[Any]], ...] = (
    sqltypes.Uuid,
    sqltypes.String,
    sqltypes.Integer,
    sqltypes.Float,
    sqltypes.Boolean,
    sqltypes.DateTime,
    sqltypes.Date,
)

#: A row: a named tuple whose fields are the selected columns' keys (``row.id``, ``row[0]``).
Record = Any
Processor = Callable[[Any], Any] | None

#: Failures that mean "this connection is gone", after which one retry on a fresh one is safe
#: (a read changes nothing).
_PG_CONNECTION_LOST = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    OSError,
)
#: Keys of SQLAlchemy's asyncpg connect arguments that asyncpg itself does not take.
_SQLALCHEMY_ONLY_ARGS = ("prepared_statement_cache_size", "prepared_statement_name_func")


def _check_type(type_: TypeEngine[Any], column: str) -> None:
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if not isinstance(base, SUPPORTED_TYPES):
        raise TypeError(
            f"ReadQuery: column {column!r} has type {type_!r}, which the plain-driver read "
            "path does not handle; read it through a session"
        )


class _Plan:
    """A query compiled for one dialect."""

    def __init__(self, query: ReadQuery, dialect: Dialect) -> None:
        compiled = query.statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise ValueError(f"ReadQuery needs a positional paramstyle, not {dialect.paramstyle}")
        self.dialect = dialect
        self.sql = str(compiled)
        #: Per positional parameter: the caller's key (None for a constant) and its value.
        self.slots: list[tuple[str | None, Any]] = []
        self.bind_processors: list[Processor] = []
        for name in compiled.positiontup:
            bind: BindParameter[Any] = compiled.binds[name]
            if bind.expanding or bind.literal_execute:
                raise ValueError("ReadQuery does not take IN lists; read them through a session")
            if bind.callable is not None:
                # Its value is meant to be computed per execution; a plan would freeze it.
                raise ValueError("ReadQuery does not take callable parameter values")
            if bind.required:
                self.slots.append((bind.key, None))
            else:
                self.slots.append((None, bind.effective_value))
            self.bind_processors.append(bind.type.dialect_impl(dialect).bind_processor(dialect))
        self.keys = frozenset(key for key, _ in self.slots if key is not None)
        self.types = query.types
        self.row_type = query.row_type
        self.result_processors: list[Processor] | None = None
        self._converters: list[tuple[int, Callable[[Any], Any]]] | None = None

    def learn_result_types(self, type_codes: Sequence[Any]) -> None:
        """Result processors for the driver's column type codes (PostgreSQL's need the OIDs)."""
        self.result_processors = [
            type_.dialect_impl(self.dialect).result_processor(self.dialect, code)
            for type_, code in zip(self.types, type_codes, strict=True)
        ]
        self._converters = None

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        if params.keys() != self.keys:
            missing = sorted(self.keys - params.keys())
            unknown = sorted(params.keys() - self.keys)
            raise TypeError(f"ReadQuery parameters: missing {missing}, unknown {unknown}")
        args = []
        for (key, constant), process in zip(self.slots, self.bind_processors, strict=True):
            value = constant if key is None else params[key]
            args.append(value if process is None or value is None else process(value))
        return args

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Record]:
        make = self.row_type._make
        converters = self._converters
        if converters is None:
            # Only the columns that have a processor are visited for each row.
            converters = self._converters = [
                (index, process)
                for index, process in enumerate(self.result_processors or ())
                if process is not None
            ]
        if not converters:
            return [make(row) for row in raw]
        records = []
        for row in raw:
            values = list(row)
            for index, process in converters:
                value = values[index]
                if value is not None:
                    values[index] = process(value)
            records.append(make(values))
        return records


class ReadQuery:
    """A Core ``SELECT`` declared once (module level) with named parameters::

    COURSE = ReadQuery(select(courses).where(courses.c.id == bindparam("course_id")))
    row = await db.fetch_one(COURSE, course_id=course_id)  # row.title, or None
    """

    def __init__(self, statement: Select[Any]) -> None:
        columns = list(statement.selected_columns)
        for column in columns:
            _check_type(column.type, column.key)
        if any(bind.expanding for bind in statement.compile().binds.values()):
            raise ValueError("ReadQuery does not take IN lists; read them through a session")
        self.statement = statement
        self.types = [column.type for column in columns]
        self.row_type = namedtuple("Row", [column.key for column in columns], rename=True)  # type: ignore[misc]
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            with self._lock:
                plan = self._plans.setdefault(dialect.name, _Plan(self, dialect))
        return plan


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

    def _run_threaded(self, plan: _Plan, args: list[Any]) -> list[Record]:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return self._rows(plan, connection.execute(plan.sql, args).fetchall())

    @staticmethod
    def _rows(plan: _Plan, raw: list[Any]) -> list[Record]:
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


class PostgresReader:
    """Reads on a few asyncpg connections of their own, handed from read to read.

    asyncpg's pool costs more CPU than the read itself (a timeout scope per acquire, a task
    per release for ``asyncio.shield``, the holder bookkeeping): ~40 % of a point read. These
    connections only run plain SELECTs outside a transaction (no SET, LISTEN, cursors or
    advisory locks), so there is nothing to reset between reads: a connection goes back to a
    list, or straight to a read waiting for one. One that failed in any way (server error,
    connection lost, read cancelled mid-query) is closed rather than reused; a connection that
    died (server restart) is replaced and the read retried once.
    """

    def __init__(
        self,
        connect_args: Mapping[str, Any],
        dialect: Dialect,
        *,
        max_size: int = 5,
        acquire_timeout: float = 30.0,
    ) -> None:
        self.connect_args = {
            key: value for key, value in connect_args.items() if key not in _SQLALCHEMY_ONLY_ARGS
        }
        self.dialect = dialect
        self.max_size = max_size
        self.acquire_timeout = acquire_timeout
        self._idle: list[asyncpg.Connection] = []
        self._members: set[asyncpg.Connection] = set()
        self._connecting = 0
        #: Reads waiting for a connection: each gets one, or None ("a place is free, connect").
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()

    async def _acquire(self) -> asyncpg.Connection:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._members.discard(connection)
            if len(self._members) + self._connecting < self.max_size:
                self._connecting += 1
                try:
                    connection = await asyncpg.connect(**self.connect_args)
                except BaseException:
                    self._wake_one()
                    raise
                finally:
                    self._connecting -= 1
                self._members.add(connection)
                return connection
            waiter: asyncio.Future[asyncpg.Connection | None] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(self.acquire_timeout):
                    handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    # Handed over just as this read gave up: pass it on.
                    if (connection := waiter.result()) is not None:
                        self._release(connection)
                    else:
                        self._wake_one()
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
            if handed is not None:
                return handed

    def _release(self, connection: asyncpg.Connection) -> None:
        if connection not in self._members:  # closed by close() meanwhile
            connection.terminate()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _discard(self, connection: asyncpg.Connection) -> None:
        self._members.discard(connection)
        connection.terminate()
        self._wake_one()

    def _wake_one(self) -> None:
        """A place is free: the first waiting read opens a connection."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def fetch(self, query: ReadQuery, params: Mapping[str, Any]) -> list[Record]:
        plan = query.plan(self.dialect)
        args = plan.args(params)
        for attempt in range(2):
            connection = await self._acquire()
            try:
                if plan.result_processors is None:
                    prepared = await connection.prepare(plan.sql)
                    plan.learn_result_types([a.type.oid for a in prepared.get_attributes()])
                raw = await connection.fetch(plan.sql, *args)
            except _PG_CONNECTION_LOST:
                self._discard(connection)
                if attempt:
                    raise
                # After a server restart every idle connection is dead: replace them all.
                for idle in self._idle:
                    self._members.discard(idle)
                    idle.terminate()
                self._idle.clear()
                continue
            except BaseException:
                self._discard(connection)
                raise
            self._release(connection)
            return plan.rows(raw)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        members, self._members = self._members, set()
        self._idle.clear()
        for connection in members:
            try:
                await connection.close(timeout=5)
            except Exception:
                connection.terminate()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


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
