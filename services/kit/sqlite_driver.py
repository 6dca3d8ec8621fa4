"""aiosqlite with one trip to its thread per statement instead of four.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches and closes it, and aiosqlite
runs each of those on the connection's thread: four hand-offs (queue, thread wake-up, loop
wake-up) per statement, which cost more CPU than the statement itself on a busy machine (the
event-chain profile: ~7 hand-offs and ~1 ms per statement in credit's certificate handler).

:class:`OneTripConnection` is an ``aiosqlite.Connection`` whose cursors do all four in one
hand-off: ``execute`` runs the statement, fetches every row (SQLAlchemy's non-streaming cursor
fetches them all anyway) and closes the sqlite3 cursor on the thread, then serves ``fetch*``
from memory. Everything else (commit, rollback, close, the thread) is aiosqlite's own.
Server-side (streaming) cursors are not supported: the kit uses none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

_Result = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Result:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        # rowcount of an UPDATE … RETURNING is only final once its rows are fetched.
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor:
    """The subset of ``aiosqlite.Cursor`` that SQLAlchemy's adapter uses, one trip each."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def _call(self, sql: str, parameters: Any, many: bool) -> OneTripCursor:
        connection = self._connection
        self.description, self.rowcount, self.lastrowid, self._rows = await connection._execute(
            _run, connection._conn, sql, parameters, many
        )
        return self

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        return await self._call(sql, parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        return await self._call(sql, list(parameters), True)

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []

    async def setinputsizes(self, *_: Any) -> None:
        return None


class OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """``aiosqlite.connect`` returning a :class:`OneTripConnection` (for ``async_creator_fn``)."""
    connection = OneTripConnection(lambda: sqlite3.connect(database, **kwargs), 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection
