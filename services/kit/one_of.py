"""``column IN (values)`` that the database prepares once, whatever the number of values.

SQLAlchemy renders ``column.in_(values)`` as ``IN ($1, $2, …, $n)``: a different statement for
every length, so asyncpg prepares (and PostgreSQL parses and plans) it again for each batch size
the inbox or relay happens to see. On PostgreSQL :func:`one_of` renders ``column = ANY($1)``
with the values as one array parameter: one statement text, prepared once per connection. On
SQLite (no server-side preparation) it is the plain ``IN``.

:func:`one_of_param` is the same condition for a statement built once per dialect and kept
(:func:`services.kit.dialect.per_dialect`): the values are bound by name when it runs, as one
parameter whatever their number, so the statement compiles to one SQL text and also runs on
the plain driver (:class:`services.kit.statements.Statement`):

- PostgreSQL: ``column = ANY($1::TYPE[])``, the values an array parameter.
- SQLite: ``column IN (SELECT value FROM json_each(?))``, the values one JSON array text, each
  element first converted as the column type binds it on SQLite (a UUID as its 32 hex digits,
  a datetime as its text), so it compares equal to what is stored. An empty list matches
  nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String, TypeDecorator, TypeEngine


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
        values = func.json_each(bindparam(name, type_=JsonList(column.type)))
        return column.in_(select(literal_column("value")).select_from(values))  # type: ignore[no-any-return]
    return column == any_(bindparam(name, type_=ARRAY(column.type)))  # type: ignore[no-any-return]


class JsonList(TypeDecorator[Iterable[Any]]):
    """A list of ``element_type`` values bound as one JSON array text (for ``json_each``)."""

    impl = String
    cache_ok = True

    def __init__(self, element_type: TypeEngine[Any]) -> None:
        super().__init__()
        self.element_type = element_type

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], str | None]:
        # The element type's own processor for this dialect: the JSON holds each value as the
        # column stores it. Resolved once per dialect (SQLAlchemy memoises bind processors).
        element = self.element_type.dialect_impl(dialect).bind_processor(dialect)

        def process(values: Iterable[Any] | None) -> str | None:
            if values is None:
                return None
            if element is not None:
                values = [None if value is None else element(value) for value in values]
            return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))

        return process
