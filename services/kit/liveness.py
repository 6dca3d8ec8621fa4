"""Is the process that claimed something still alive? Asked of the database, not of a clock.

A request that holds an ``Idempotency-Key`` "in progress" names its owner. When a retry finds
such a key, the key is released at once if its owner has died (a crash, ``kill -9``), instead
of after a fixed window:

- **PostgreSQL**: each process holds a session-level advisory lock on one dedicated connection
  for its whole life. The server drops the lock the moment that connection dies, so "is the
  lock still granted?" (``pg_locks``) answers for any process on any host.
- **SQLite**: the database is a file on one host, so the owner is ``host:pid:start-time``
  and the operating system answers (the start time guards against a reused pid).
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.kit.db import Database

#: First half of the advisory lock key: "JS" (Jiasao); the second half is random per process.
_LOCK_CLASS = 0x4A53


def _process_start() -> str:
    """The start time of this process in clock ticks since boot (Linux), else "0"."""
    return _start_of(os.getpid()) or "0"


def _start_of(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name (field 2) may hold spaces, so split after ")".
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_alive(pid: int, start: str) -> bool:
    if Path("/proc").is_dir():
        return _start_of(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Liveness:
    """This process's owner id, and whether another owner id is still alive."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None
        if db.is_sqlite:
            self.owner = f"proc:{socket.gethostname()}:{os.getpid()}:{_process_start()}"
        else:
            self.owner = f"pg:{_LOCK_CLASS}:{secrets.randbelow(2**31 - 1) + 1}"

    async def start(self) -> None:
        if self.db.is_sqlite:
            return
        _, cls, key = self.owner.split(":")
        self._connection = await self.db.write_engine.connect()
        await self._connection.execute(
            text("SELECT pg_advisory_lock(:cls, :key)"), {"cls": int(cls), "key": int(key)}
        )
        await self._connection.commit()

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()  # closing the session releases the lock
            self._connection = None

    async def is_alive(self, owner: str | None) -> bool | None:
        """True or False when it can tell; None when it cannot (another host's SQLite)."""
        if not owner:
            return None
        if owner == self.owner:
            return True
        kind, _, rest = owner.partition(":")
        if kind == "pg" and not self.db.is_sqlite:
            cls, _, key = rest.partition(":")
            async with self.db.read() as session:
                held = await session.scalar(
                    text(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                        " AND classid = :cls AND objid = :key AND objsubid = 2 AND granted)"
                    ),
                    {"cls": int(cls), "key": int(key)},
                )
            return bool(held)
        if kind == "proc":
            host, _, process = rest.partition(":")
            pid, _, start = process.partition(":")
            if host != socket.gethostname() or not pid.isdigit():
                return None
            return _pid_alive(int(pid), start)
        return None
