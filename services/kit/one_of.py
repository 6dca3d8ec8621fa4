"""``column IN (values)`` that PostgreSQL prepares once, whatever the number of values.

SQLAlchemy renders ``column.in_(values)`` as ``IN ($1, $2, …, $n)``: a different statement for
every length, so asyncpg prepares (and PostgreSQL parses and plans) it again for each batch size
the inbox or relay happens to see. On PostgreSQL :func:`one_of` renders ``column = ANY($1)``
with the values as one array parameter: one statement text, prepared once per connection. On
SQLite (no server-side preparation) it is the plain ``IN``.

:func:`one_of_param` is the same condition for a statement built once per dialect and kept
(:func:`services.kit.dialect.per_dialect`): the values are bound by name when it runs.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


def one_of(session: AsyncSession, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values``, in the form the session's database prepares once."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(list(values))  # type: ignore[no-any-return]
    array = bindparam(None, list(values), type_=ARRAY(column.type))
    return column == any_(array)  # type: ignore[no-any-return]


def one_of_param(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """:func:`one_of` with the values bound to ``name`` at execution
    (``session.execute(statement, {name: values})``), for a statement built once."""
    if dialect != "postgresql":
        return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]
    return column == any_(bindparam(name, type_=ARRAY(column.type)))  # type: ignore[no-any-return]
