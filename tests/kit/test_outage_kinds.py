"""Which database errors are outages (hold the events, retry) and which are the statement's
own fault (the handler failed): pure classification, no database."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from services.kit.outages import database_unreachable, is_outage


def wrapped(orig: Exception, kind: type[Exception] = OperationalError) -> Exception:
    """As SQLAlchemy raises it: its own error, the driver's as the cause."""
    try:
        try:
            raise orig
        except Exception as exc:
            raise kind("SELECT 1", {}, exc) from exc
    except Exception as outer:
        return outer


@pytest.mark.parametrize(
    "message",
    [
        "database is locked",
        "unable to open database file",
        "disk I/O error",
        "database or disk is full",
        "attempt to write a readonly database",
    ],
)
def test_sqlite_cannot_use_its_file_is_an_outage(message: str) -> None:
    error = wrapped(sqlite3.OperationalError(message))
    assert is_outage(error)
    assert database_unreachable(error)


@pytest.mark.parametrize(
    "message", ["no such table: certificates", "no such column: x", 'near "SELEC": syntax error']
)
def test_a_statement_sqlite_refuses_is_not_an_outage(message: str) -> None:
    error = wrapped(sqlite3.OperationalError(message))
    assert not is_outage(error)
    assert not database_unreachable(error)


def test_a_refused_statement_on_postgresql_is_not_an_outage() -> None:
    assert not is_outage(wrapped(Exception("relation does not exist"), ProgrammingError))


def test_a_lost_connection_is_an_outage() -> None:
    assert is_outage(wrapped(ConnectionResetError("reset by peer")))
    assert is_outage(ConnectionRefusedError())
