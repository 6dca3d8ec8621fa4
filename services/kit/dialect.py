"""Dialect-specific statements the kit and the services share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(dialect: str, table: Any) -> Any:
    """The INSERT of ``dialect`` ("postgresql" or "sqlite"), which has ON CONFLICT (SQLite >=
    3.24 and PostgreSQL alike); for statements built once per dialect and kept."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The session's dialect's INSERT (see :func:`insert_for`)."""
    return insert_for(session.get_bind().dialect.name, table)
