"""A few asyncpg connections of a process's own, handed from user to user without a pool.

asyncpg's pool costs more CPU than a point read itself (a timeout scope per acquire, a task
per release for ``asyncio.shield``, the holder bookkeeping): ~40 % of a point read. A user
leaves a connection as it found it (no SET, LISTEN, cursors, advisory locks or open
transaction), so there is nothing to reset: it goes back to a list, or straight to a user
waiting for one. One that failed in any way is discarded (closed) rather than reused.

Each new connection gets the json and jsonb codecs SQLAlchemy's asyncpg dialect sets on the
engine's (``setup_asyncpg_json_codec``): JSON values go in as the text SQLAlchemy's bind
processor made and come back parsed, exactly as a session gives them.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from typing import Any

import asyncpg

#: Failures that mean "this connection is gone", after which one retry on a fresh one is safe
#: when nothing was done on it yet.
CONNECTION_LOST = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    OSError,
)
#: Keys of SQLAlchemy's asyncpg connect arguments that asyncpg itself does not take.
_SQLALCHEMY_ONLY_ARGS = ("prepared_statement_cache_size", "prepared_statement_name_func")


async def _connect(connect_args: Mapping[str, Any]) -> asyncpg.Connection:
    """A new connection with the engine's JSON codecs."""
    connection = await asyncpg.connect(**connect_args)
    try:
        await set_json_codecs(connection)
    except BaseException:
        connection.terminate()
        raise
    return connection


def _decode_json(data: bytes) -> Any:
    return json.loads(data.decode())


def _encode_jsonb(text: str) -> bytes:
    # jsonb's binary format: a version byte (1), then the text.
    return b"\x01" + text.encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:].decode())


async def set_json_codecs(connection: asyncpg.Connection) -> None:
    """The codecs of SQLAlchemy's asyncpg dialect for json and jsonb, with its default
    deserializer (``json.loads``; the engine is created without another). The values bound
    are already text: SQLAlchemy's JSON bind processor serialised them."""
    await connection.set_type_codec(
        "json", encoder=str.encode, decoder=_decode_json, schema="pg_catalog", format="binary"
    )
    await connection.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


class PgConnections:
    """Up to ``max_size`` connections; :meth:`acquire` one, then :meth:`release` or
    :meth:`discard` it."""

    def __init__(
        self,
        connect_args: Mapping[str, Any],
        *,
        max_size: int = 5,
        acquire_timeout: float = 30.0,
    ) -> None:
        self.connect_args = {
            key: value for key, value in connect_args.items() if key not in _SQLALCHEMY_ONLY_ARGS
        }
        self.max_size = max_size
        self.acquire_timeout = acquire_timeout
        self._idle: list[asyncpg.Connection] = []
        self._members: set[asyncpg.Connection] = set()
        self._connecting = 0
        #: Users waiting for a connection: each gets one, or None ("a place is free, connect").
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()

    async def acquire(self) -> asyncpg.Connection:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._members.discard(connection)
            if len(self._members) + self._connecting < self.max_size:
                self._connecting += 1
                try:
                    connection = await _connect(self.connect_args)
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
                        self.release(connection)
                    else:
                        self._wake_one()
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
            if handed is not None:
                return handed

    def release(self, connection: asyncpg.Connection) -> None:
        if connection not in self._members:  # closed by close() meanwhile
            connection.terminate()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def discard(self, connection: asyncpg.Connection) -> None:
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

    def discard_idle(self) -> None:
        """Close every idle connection (after a server restart they are all dead)."""
        for idle in self._idle:
            self._members.discard(idle)
            idle.terminate()
        self._idle.clear()

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
