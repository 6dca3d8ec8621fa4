"""Dialect-specific statements the kit and the services share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def insert_for(dialect: str, table: Any) -> Any:
    """The INSERT of ``dialect`` ("postgresql" or "sqlite"), which has ON CONFLICT (SQLite >=
    3.24 and PostgreSQL alike); for statements built once per dialect and kept."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The session's dialect's INSERT (see :func:`insert_for`)."""
    return insert_for(dialect_of(session), table)


def dialect_of(session: AsyncSession | OnDialect) -> str:
    """The name of the session's (or transaction's) dialect: "postgresql" or "sqlite"."""
    if isinstance(session, AsyncSession):
        return session.get_bind().dialect.name
    return session.dialect_name


class OnDialect(Protocol):
    """What knows its dialect's name, as a :class:`~services.kit.transactions.Transaction`."""

    @property
    def dialect_name(self) -> str: ...


def per_dialect(build: Callable[[str], T]) -> Callable[[AsyncSession | OnDialect], T]:
    """``build(dialect)`` run once per dialect; the result maps a session (or a transaction)
    to its dialect's.

    For the statements of hot paths (an event handler runs them for every event): building a
    SELECT with its conditions and computing its cache key cost 66 µs (credit's newest-policy
    SELECT) to 281 µs (its records-in-force SELECT) per call on a slow machine; in credit's
    certificate path that was ~30 % of its CPU. Values go in as bound parameters.
    """
    built: dict[str, T] = {}

    def for_session(session: AsyncSession | OnDialect) -> T:
        dialect = dialect_of(session)
        statement = built.get(dialect)
        if statement is None:
            statement = built[dialect] = build(dialect)
        return statement

    for_session.__doc__ = build.__doc__
    for_session.__name__ = build.__name__
    return for_session
