"""Write transactions whose statements go straight to the driver (asyncpg, sqlite3).

A statement through the ORM session costs 210–320 µs of client CPU on this project's machine,
the same statement on asyncpg alone 100–150 µs; and a write transaction with one SELECT costs
~0.8–1.0 ms, ~0.6 ms of it the session's ceremony (session, pool checkout, BEGIN, COMMIT,
check-in). Training's completion, the first hop of every certificate, spent ~2.7 ms in its
write block. A hot write path that needs no ORM objects therefore runs its
:class:`~services.kit.statements.Statement` s in a :class:`Transaction` from
``Database.transaction()``:

- PostgreSQL (asyncpg): a connection of the database's own writer set
  (:class:`~services.kit.pg_connections.PgConnections`), ``BEGIN``/``COMMIT`` by asyncpg, each
  statement prepared once per connection and run with SQLAlchemy's bind and result processing
  (values are exactly what a session reads and writes).
- A SQLite file: a plain ``sqlite3`` connection of the process's own, on the event loop, in
  the process's writer turn (as ``Database.write()`` takes it), with ``BEGIN IMMEDIATE`` that
  never waits (:class:`SqliteTransaction`). While another process holds the file's write
  lock, the transaction runs in a session of ``Database.write()`` instead, which waits for it
  on the engine's thread.
- Anything else: a session of ``Database.write()``; the same statements run through it.

Either way the transaction commits when the block ends normally and rolls back on any error,
and the database's ``on_commit`` callbacks run after the commit with the transaction (its
``info`` says what it wrote, as a session's does). Errors are the driver's own (asyncpg's or
sqlite3's exceptions): :func:`services.kit.outages.is_outage` knows them as it knows
SQLAlchemy's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import asyncpg
import sqlalchemy.exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.pg_connections import CONNECTION_LOST, PgConnections
from services.kit.statements import Plan, Record, Statement


class Committed(Protocol):
    """What an ``on_commit`` callback gets: a session or a :class:`Transaction`."""

    @property
    def info(self) -> dict[Any, Any]: ...


class Transaction(Protocol):
    """Statements in one write transaction."""

    @property
    def info(self) -> dict[Any, Any]: ...

    @property
    def dialect_name(self) -> str:
        """ "postgresql" or "sqlite": for statements built once per dialect."""
        ...

    async def fetch(self, statement: Statement, **params: Any) -> list[Record]:
        """The rows a SELECT (or a RETURNING) gives, as named tuples."""
        ...

    async def execute(self, statement: Statement, **params: Any) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it touched."""
        ...

    async def execute_many(self, statement: Statement, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set (nothing when there are none)."""
        ...


#: A constraint violated: by the driver of each path, or by SQLAlchemy around a session.
_INTEGRITY_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.IntegrityConstraintViolationError,
    sqlite3.IntegrityError,
    sqlalchemy.exc.IntegrityError,
)


def is_integrity_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a constraint violated, whichever path ran the statement."""
    return isinstance(exc, _INTEGRITY_ERRORS)


async def fetch_one(tx: Transaction, statement: Statement, **params: Any) -> Record | None:
    """The first row of ``statement``, or None."""
    rows = await tx.fetch(statement, **params)
    return rows[0] if rows else None


class SessionTransaction:
    """A :class:`Transaction` on a session of ``Database.write()``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def info(self) -> dict[Any, Any]:
        return self.session.info

    @property
    def dialect_name(self) -> str:
        return self.session.get_bind().dialect.name

    async def fetch(self, statement: Statement, **params: Any) -> list[Record]:
        result = await self.session.execute(statement.statement, params)
        return [statement.row_type._make(row) for row in result]

    async def execute(self, statement: Statement, **params: Any) -> int:
        result = await self.session.execute(statement.statement, params)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def execute_many(self, statement: Statement, rows: Iterable[Mapping[str, Any]]) -> None:
        batch = [dict(row) for row in rows]
        if batch:
            await self.session.execute(statement.statement, batch)


class _OnDriver:
    """What both plain-driver transactions share: the plan per statement, told to the
    observers, and ``info``."""

    def __init__(
        self, connection: Any, dialect: Dialect, observers: Sequence[Callable[[str], None]] = ()
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self._info: dict[Any, Any] = {}
        self._observers = observers

    @property
    def info(self) -> dict[Any, Any]:
        return self._info

    @property
    def dialect_name(self) -> str:
        return str(self.dialect.name)

    def _plan(self, statement: Statement) -> Plan:
        plan = statement.plan(self.dialect)
        for observe in self._observers:
            observe(plan.sql)
        return plan


class DriverTransaction(_OnDriver):
    """A :class:`Transaction` on an asyncpg connection inside ``connection.transaction()``."""

    connection: asyncpg.Connection

    async def fetch(self, statement: Statement, **params: Any) -> list[Record]:
        plan = self._plan(statement)
        args = plan.args(params)
        if plan.result_processors is None:
            # The processors depend on the result columns' type OIDs, known once prepared.
            prepared = await self.connection.prepare(plan.sql)
            plan.learn_result_types([a.type.oid for a in prepared.get_attributes()])
        return plan.rows(await self.connection.fetch(plan.sql, *args))

    async def execute(self, statement: Statement, **params: Any) -> int:
        plan = self._plan(statement)
        status = await self.connection.execute(plan.sql, *plan.args(params))
        # "UPDATE 3", "INSERT 0 1", "DELETE 0": the count is the last word.
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    async def execute_many(self, statement: Statement, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            plan = self._plan(statement)
            await self.connection.executemany(plan.sql, [plan.args(row) for row in rows])


class SqliteTransaction(_OnDriver):
    """A :class:`Transaction` on a plain ``sqlite3`` connection, run on the event loop.

    The statements of a hot write take microseconds, less than the hand-off to aiosqlite's
    thread they replace, and they never wait on the loop: the transaction began with
    ``BEGIN IMMEDIATE`` (the file's write lock is held), and its connection never runs a WAL
    checkpoint (the engine's connections do that, on their thread).
    """

    connection: sqlite3.Connection

    async def fetch(self, statement: Statement, **params: Any) -> list[Record]:
        plan = self._plan(statement)
        raw = self.connection.execute(plan.sql, plan.args(params)).fetchall()
        if plan.result_processors is None:
            # pysqlite reports no column types; the processors depend on the declared ones.
            plan.learn_result_types([None] * len(plan.types))
        return plan.rows(raw)

    async def execute(self, statement: Statement, **params: Any) -> int:
        plan = self._plan(statement)
        return int(self.connection.execute(plan.sql, plan.args(params)).rowcount)

    async def execute_many(self, statement: Statement, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            plan = self._plan(statement)
            self.connection.executemany(plan.sql, [plan.args(row) for row in rows])


class SqliteWriter:
    """The plain connection of :class:`SqliteTransaction` s to one SQLite file."""

    def __init__(self, path: str, configure: Callable[[sqlite3.Connection], None]) -> None:
        self.path = path
        self.configure = configure
        self._connection: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: the driver opens no transaction of its own; BEGIN is ours.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.configure(connection)
        connection.execute("PRAGMA busy_timeout=0")  # never wait on the loop
        connection.execute("PRAGMA wal_autocheckpoint=0")  # nor checkpoint there
        return connection

    async def begin(self) -> sqlite3.Connection | None:
        """The connection with ``BEGIN IMMEDIATE`` done, or None while another connection
        holds the file's write lock (the caller then waits for it on a thread)."""
        if self._connection is None:
            # Opened on a thread: the pragmas may wait for a lock.
            connection = await asyncio.get_running_loop().run_in_executor(None, self._open)
            if self._connection is None:
                self._connection = connection
            else:
                connection.close()
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) in (_SQLITE_BUSY, _SQLITE_LOCKED):
                return None
            raise
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


@asynccontextmanager
async def sqlite_transaction(
    connection: sqlite3.Connection,
    dialect: Dialect,
    observers: Sequence[Callable[[str], None]] = (),
) -> AsyncIterator[SqliteTransaction]:
    """A :class:`SqliteTransaction` on ``connection`` (``BEGIN IMMEDIATE`` done): committed
    when the block ends normally, rolled back on any error."""
    tx = SqliteTransaction(connection, dialect, observers)
    try:
        yield tx
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


@asynccontextmanager
async def driver_transaction(
    connections: PgConnections,
    dialect: Dialect,
    observers: Sequence[Callable[[str], None]] = (),
) -> AsyncIterator[DriverTransaction]:
    """A :class:`DriverTransaction` on a connection of ``connections``: committed when the
    block ends normally, rolled back on any error. A connection that is not known to be
    clean afterwards (its commit or rollback failed) is discarded, not reused."""
    connection, transaction = await _begin(connections)
    tx = DriverTransaction(connection, dialect, observers)
    try:
        yield tx
    except BaseException:
        try:
            await transaction.rollback()
        except BaseException:
            connections.discard(connection)
            raise
        connections.release(connection)
        raise
    try:
        await transaction.commit()
    except BaseException:
        connections.discard(connection)
        raise
    connections.release(connection)


async def _begin(connections: PgConnections) -> tuple[asyncpg.Connection, Any]:
    """A connection with a transaction begun. If ``BEGIN`` finds the connection dead (the
    server restarted while it sat idle), every idle one is dead too: they are replaced and
    ``BEGIN`` tried once more on a fresh one (nothing had been done yet)."""
    for attempt in range(2):
        connection = await connections.acquire()
        transaction = connection.transaction()
        try:
            await transaction.start()
        except CONNECTION_LOST:
            connections.discard(connection)
            if attempt:
                raise
            connections.discard_idle()
            continue
        except BaseException:
            connections.discard(connection)
            raise
        return connection, transaction
    raise AssertionError("unreachable")
