"""What every service's ``GET /api/v1/statistics/{topic}`` shares (contracts/statistics.py).

- :func:`statistics_filters`: the ``county``/``from``/``to`` query parameters, validated (a bad
  value is a 422 problem from the schema; ``from`` after ``to`` a 400 problem).
- :func:`year_month`: ``YYYY-MM`` of a date or UTC timestamp column, in SQL that both SQLite and
  PostgreSQL run, to ``GROUP BY`` months on the database.
- :func:`days_between`: days from one timestamp to another, for means of durations.
- :func:`in_period`: the ``WHERE`` terms keeping rows whose time lies in the period.
- :func:`figure` and :func:`report`: the response, titles in the request's language.

Each service computes its own figures from its own database; only this plumbing is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Query
from sqlalchemy import Date, Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from contracts.common import County
from contracts.statistics import Chart, Figure, FilterName, Filters, StatisticsReport, Unit
from services.kit.context import ServiceContext
from services.kit.errors import PROBLEM_MEDIA_TYPE, Problem
from services.kit.i18n import language_var
from services.kit.types import utcnow

#: ``YYYY-MM`` of the years 1900-2999 (datetimes cannot hold year 0 or the month after 9999-12).
MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"

#: What a statistics route documents beyond the kit's usual errors: a period ending before it
#: starts (``responses=RESPONSES`` on the route).
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "The period starts after it ends (`from` is after `to`)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}

#: (zh-CN, zh-HK, en)
Titles = tuple[str, str, str]


@dataclass(frozen=True)
class StatisticsFilters:
    county: str | None = None
    from_month: str | None = None
    to_month: str | None = None

    @property
    def start(self) -> datetime | None:
        """First instant of the period (UTC), or None when open."""
        if self.from_month is None:
            return None
        year, month = map(int, self.from_month.split("-"))
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime | None:
        """First instant after the period (UTC), or None when open."""
        if self.to_month is None:
            return None
        year, month = map(int, self.to_month.split("-"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def first_year(self) -> int | None:
        return self.start.year if self.start else None

    @property
    def last_year(self) -> int | None:
        return int(self.to_month[:4]) if self.to_month else None

    def contract(self) -> Filters:
        return Filters(county=self.county, from_month=self.from_month, to_month=self.to_month)  # type: ignore[arg-type]


def statistics_filters(
    county: County | None = Query(None, description="Only this county; all if absent"),
    from_month: str | None = Query(
        None, alias="from", pattern=MONTH_PATTERN, description="First month, YYYY-MM"
    ),
    to_month: str | None = Query(
        None, alias="to", pattern=MONTH_PATTERN, description="Last month, YYYY-MM (inclusive)"
    ),
) -> StatisticsFilters:
    """The filters of a statistics request; ``from`` after ``to`` is a 400 problem."""
    if from_month is not None and to_month is not None and from_month > to_month:
        raise Problem(
            400,
            "bad-request",
            "Bad request",
            f"The period starts ({from_month}) after it ends ({to_month})",
        )
    return StatisticsFilters(county, from_month, to_month)


class year_month(FunctionElement[str]):
    """``YYYY-MM`` of a date or timestamp column (UTC)."""

    type = String()
    name = "year_month"
    inherit_cache = True


@compiles(year_month, "sqlite")
def _year_month_sqlite(element: year_month, compiler: SQLCompiler, **kw: Any) -> str:
    # Dates and timestamps are stored as ISO text ("2026-12-06 01:12:20.000000").
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


@compiles(year_month, "postgresql")
def _year_month_postgresql(element: year_month, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses.clauses
    inner = compiler.process(element.clauses, **kw)
    if isinstance(getattr(column, "type", None), Date):
        return f"to_char({inner}, 'YYYY-MM')"
    # timestamptz: bucket on the UTC month whatever the session's time zone.
    return f"to_char(({inner}) AT TIME ZONE 'UTC', 'YYYY-MM')"


class days_between(FunctionElement[float]):  # SQL function style name
    """Days (fractional) from the second timestamp to the first: ``days_between(end, start)``."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses.clauses)
    return f"(julianday({end}) - julianday({start}))"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 86400.0)"


async def query_rows(ctx: ServiceContext, query: Any) -> list[Any]:
    """All rows of one aggregate query, read on the service's read path."""
    async with ctx.db.read() as session:
        return list((await session.execute(query)).all())


def in_period(column: Any, filters: StatisticsFilters) -> list[ColumnElement[bool]]:
    """``WHERE`` terms keeping rows whose ``column`` lies within the period."""
    is_date = isinstance(getattr(column, "type", None), Date)
    terms: list[ColumnElement[bool]] = []
    if (start := filters.start) is not None:
        terms.append(column >= (start.date() if is_date else start))
    if (end := filters.end) is not None:
        terms.append(column < (end.date() if is_date else end))
    return terms


def in_years(column: Any, filters: StatisticsFilters) -> list[ColumnElement[bool]]:
    """``WHERE`` terms for an integer year column: the years the period touches."""
    terms: list[ColumnElement[bool]] = []
    if filters.first_year is not None:
        terms.append(column >= filters.first_year)
    if filters.last_year is not None:
        terms.append(column <= filters.last_year)
    return terms


def localised(titles: Titles) -> str:
    language = language_var.get()
    return titles[2] if language == "en" else titles[0 if language == "zh-CN" else 1]


def figure(
    key: str,
    titles: Titles,
    *,
    unit: Unit,
    chart: Chart,
    dimensions: Sequence[str],
    rows: Sequence[Sequence[Any]],
    filters_applied: Sequence[FilterName] = (),
    target: float | None = None,
    policy_version: int | None = None,
) -> Figure:
    """A figure from result rows: the dimension values in order, then the value."""
    out = []
    for row in rows:
        *values, value = row
        record: dict[str, str | int | float | None] = dict(
            zip(dimensions, (_plain(v) for v in values), strict=True)
        )
        record["value"] = _plain(value)
        out.append(record)
    return Figure(
        key=key,
        title=localised(titles),
        unit=unit,
        chart=chart,
        dimensions=list(dimensions),
        rows=out,
        filters_applied=list(filters_applied),
        target=target,
        policy_version=policy_version,
    )


def _plain(value: Any) -> str | int | float | None:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return float(value) if hasattr(value, "__float__") else str(value)


def report(topic: str, filters: StatisticsFilters, figures: list[Figure]) -> StatisticsReport:
    return StatisticsReport(
        topic=topic,
        filters=filters.contract(),
        generated_at=utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        figures=figures,
    )
