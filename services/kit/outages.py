"""Whether an error means the database (or a connection to it) is unavailable.

Such a failure is nobody's fault and passes: consumers hold their events and retry
(:mod:`services.kit.inbox`, :func:`is_outage`, which errs on the side of waiting), and an HTTP
request gets 503 with ``Retry-After`` instead of 500 (:func:`database_unreachable`, which
only counts a failed connection).
"""

from __future__ import annotations

import logging
import sqlite3

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.kit.errors import problem_response

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER_S = 1


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database or a connection is unavailable (by its type).

    SQLite raises OperationalError for the statement's own faults too ("no such table", a
    syntax error): those are the handler's failures, which count toward dead-lettering;
    held as an outage they would stall the consumer forever with only warnings to show.
    """
    chain = _chain(exc)
    if any(_sqlite_statement_fault(current) for current in chain):
        return False
    for current in chain:
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _OUTAGE_TYPES):
            return True
    return False


_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    OSError,  # ConnectionError, TimeoutError, socket errors
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)


#: Connection-level failures: the database cannot be reached or refuses work for now.
_UNREACHABLE_TYPES: tuple[type[BaseException], ...] = (
    DisconnectionError,
    PoolTimeout,
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InvalidCatalogNameError,  # the database is gone (dropped, not restored)
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # it refuses connections
)
#: What SQLite says when its file cannot be used for now (its other OperationalErrors, like
#: "no such table", are faults of the code or the schema).
_SQLITE_UNAVAILABLE = (
    "unable to open database file",
    "database is locked",
    "disk i/o error",
    "database or disk is full",
    "attempt to write a readonly database",
)


def _sqlite_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and any(
        text in str(exc).lower() for text in _SQLITE_UNAVAILABLE
    )


def _sqlite_statement_fault(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and not _sqlite_unavailable(exc)


def database_unreachable(exc: BaseException) -> bool:
    """Narrower than :func:`is_outage`: the connection failed, not the statement. A request
    that meets this gets 503; a statement the database refused stays a 500."""
    for current in _chain(exc):
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _UNREACHABLE_TYPES):
            return True
        if _sqlite_unavailable(current):
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes and contexts, each once."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


#: Errors of the database layers a request may meet: SQLAlchemy's, and those of the plain
#: drivers under :mod:`services.kit.reads`.
_DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    sqlite3.OperationalError,
)


def install_outage_handler(app: FastAPI) -> None:
    """Answer 503 with ``Retry-After`` when a request fails because the database is
    unavailable (any other database error stays a 500)."""

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if not database_unreachable(exc):
            raise exc  # the app's handler for unexpected errors answers 500
        log.warning(
            "database unavailable; answered 503",
            extra={"path": request.url.path, "error": repr(exc)},
        )
        return problem_response(
            503,
            detail="The service's database is unavailable at the moment; try again shortly.",
            instance=request.url.path,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    for error in _DATABASE_ERRORS:
        app.add_exception_handler(error, database_error)
