"""SQLite files are switched to WAL once, and connections opening together never fail on it.

A fresh rollback-journal file opened by several connections at once used to fail one of them
with "database is locked": each held the shared lock and wanted the exclusive one to switch to
WAL, and SQLite breaks that deadlock by refusing one of them without waiting (CI saw it).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from services.kit.db import sqlite_pragmas
from services.kit.migrate import upgrade

CONNECTIONS = 8
ROUNDS = 25


def _rollback_journal_file(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.commit()
    connection.close()


def _open_together(path: Path) -> list[BaseException]:
    barrier = threading.Barrier(CONNECTIONS)
    errors: list[BaseException] = []
    connections: list[sqlite3.Connection] = []

    def open_one() -> None:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connections.append(connection)
        barrier.wait()
        try:
            sqlite_pragmas(connection)
        except sqlite3.Error as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for connection in connections:
        connection.close()
    return errors


def test_connections_opening_a_fresh_file_together_all_get_wal(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        path = tmp_path / f"fresh-{round_}.db"
        _rollback_journal_file(path)
        assert _open_together(path) == []
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migration_leaves_the_file_in_wal(tmp_path: Path) -> None:
    path = tmp_path / "rating.db"
    upgrade("rating", f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
