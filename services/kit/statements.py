"""Core statements compiled once per dialect, for running on the plain driver.

A :class:`Statement` is declared once (module level) with named ``bindparam`` values; its
:class:`Plan` for a dialect holds the SQL text, the parameter order and SQLAlchemy's own bind
and result processors for the column types, so values go in and come back exactly as through
a session. :mod:`services.kit.reads` runs such SELECTs alone in autocommit (``ReadQuery``);
:mod:`services.kit.transactions` runs any of them inside a write transaction.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Column types whose values the plain drivers return as the engine does once SQLAlchemy's
#: processors have run. JSON too: on SQLite its processors (de)serialise text; on PostgreSQL
#: the engine's json/jsonb codecs are set on each plain connection as well
#: (:class:`~services.kit.pg_connections.PgConnections`). Arrays are not.
SUPPORTED_TYPES: tuple[type[TypeEngine[Any]], ...] = (
    sqltypes.Uuid,
    sqltypes.String,
    sqltypes.Integer,
    sqltypes.Float,
    sqltypes.Boolean,
    sqltypes.DateTime,
    sqltypes.Date,
    sqltypes.JSON,
)

#: A row: a named tuple whose fields are the selected columns' keys (``row.id``, ``row[0]``).
Record = Any
Processor = Callable[[Any], Any] | None


def _check_type(type_: TypeEngine[Any], column: str) -> None:
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if not isinstance(base, SUPPORTED_TYPES):
        raise TypeError(
            f"Column {column!r} has type {type_!r}, which the plain-driver path does not "
            "handle; use a session"
        )


def _is_json(type_: TypeEngine[Any]) -> bool:
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    return isinstance(base, sqltypes.JSON)


class Plan:
    """A statement compiled for one dialect."""

    def __init__(self, query: Statement, dialect: Dialect) -> None:
        statement = query.statement
        if isinstance(statement, Insert) and not statement.exported_columns:
            # Without this the dialect adds RETURNING of the primary key for the engine.
            statement = statement.inline()
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise ValueError(
                f"A plain-driver statement needs a positional paramstyle, not {dialect.paramstyle}"
            )
        if compiled.insert_prefetch or compiled.update_prefetch:
            # The engine computes those defaults per execution; the driver would get None.
            columns = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"Give {columns} explicitly: their defaults are computed in Python")
        self.dialect = dialect
        self.sql = str(compiled)
        #: Per positional parameter: the caller's key (None for a constant) and its value.
        self.slots: list[tuple[str | None, Any]] = []
        self.bind_processors: list[Processor] = []
        #: Per parameter: whether None goes through the processor too, as the engine does.
        self.process_none: list[bool] = []
        for name in compiled.positiontup:
            bind: BindParameter[Any] = compiled.binds[name]
            if bind.expanding or bind.literal_execute:
                raise ValueError(
                    "A plain-driver statement takes no IN lists; run it through a session"
                )
            if bind.callable is not None:
                # Its value is meant to be computed per execution; a plan would freeze it.
                raise ValueError("A plain-driver statement takes no callable parameter values")
            if bind.required:
                self.slots.append((bind.key, None))
            else:
                self.slots.append((None, bind.effective_value))
            impl = bind.type.dialect_impl(dialect)
            self.bind_processors.append(impl.bind_processor(dialect))
            # A JSON None is bound as JSON ``null`` (unless ``none_as_null``), not SQL NULL.
            self.process_none.append(_is_json(impl))
        self.keys = frozenset(key for key, _ in self.slots if key is not None)
        self.types = query.types
        self.row_type = query.row_type
        self.result_processors: list[Processor] | None = None
        self._converters: list[tuple[int, Callable[[Any], Any]]] | None = None

    def learn_result_types(self, type_codes: Sequence[Any]) -> None:
        """Result processors for the driver's column type codes (PostgreSQL's need the OIDs)."""
        self.result_processors = [
            type_.dialect_impl(self.dialect).result_processor(self.dialect, code)
            for type_, code in zip(self.types, type_codes, strict=True)
        ]
        self._converters = None

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        if params.keys() != self.keys:
            missing = sorted(self.keys - params.keys())
            unknown = sorted(params.keys() - self.keys)
            raise TypeError(f"Statement parameters: missing {missing}, unknown {unknown}")
        args = []
        for (key, constant), process, nones in zip(
            self.slots, self.bind_processors, self.process_none, strict=True
        ):
            value = constant if key is None else params[key]
            if process is not None and (value is not None or nones):
                value = process(value)
            args.append(value)
        return args

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Record]:
        make = self.row_type._make
        converters = self._converters
        if converters is None:
            # Only the columns that have a processor are visited for each row.
            converters = self._converters = [
                (index, process)
                for index, process in enumerate(self.result_processors or ())
                if process is not None
            ]
        if not converters:
            return [make(row) for row in raw]
        records = []
        for row in raw:
            values = list(row)
            for index, process in converters:
                value = values[index]
                if value is not None:
                    values[index] = process(value)
            records.append(make(values))
        return records


class Statement:
    """A Core statement (SELECT, or INSERT/UPDATE/DELETE with or without RETURNING) declared
    once with named parameters; rows come back as named tuples of its selected or returned
    columns."""

    def __init__(self, statement: Any) -> None:
        columns = list(getattr(statement, "selected_columns", None) or statement.exported_columns)
        for column in columns:
            _check_type(column.type, column.key)
        self.statement = statement
        self.types = [column.type for column in columns]
        self.row_type = namedtuple("Row", [column.key for column in columns], rename=True)  # type: ignore[misc]
        self._plans: dict[str, Plan] = {}
        self._lock = threading.Lock()

    def plan(self, dialect: Dialect) -> Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            with self._lock:
                plan = self._plans.setdefault(dialect.name, Plan(self, dialect))
        return plan
