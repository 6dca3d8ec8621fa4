"""Pure logic of kit.statistics: the period's bounds and the SQL each dialect gets (the figures
themselves are tested per service on real databases: tests/<service>/test_*_statistics.py)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Column, Date, MetaData, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from services.kit.errors import Problem
from services.kit.statistics import (
    MONTH_PATTERN,
    StatisticsFilters,
    days_between,
    in_period,
    in_years,
    statistics_filters,
    year_month,
)
from services.kit.types import UtcDateTime

table = Table(
    "t",
    MetaData(),
    Column("at", UtcDateTime),
    Column("day", Date),
    Column("later", UtcDateTime),
)


def test_period_bounds_wrap_the_year() -> None:
    period = StatisticsFilters(from_month="2025-11", to_month="2025-12")
    assert period.start == datetime(2025, 11, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 1, 1, tzinfo=UTC)
    assert (period.first_year, period.last_year) == (2025, 2025)
    assert StatisticsFilters().start is None and StatisticsFilters().end is None


def test_from_after_to_is_a_400_problem() -> None:
    with pytest.raises(Problem) as raised:
        statistics_filters(None, "2026-03", "2026-02")
    assert raised.value.status == 400
    assert statistics_filters("gaoyao", "2026-02", "2026-02").county == "gaoyao"


def test_period_terms_bind_dates_for_date_columns() -> None:
    period = StatisticsFilters(from_month="2026-02", to_month="2026-02")
    [low, high] = in_period(table.c.day, period)
    assert low.right.value == date(2026, 2, 1) and high.right.value == date(2026, 3, 1)
    [low, high] = in_period(table.c.at, period)
    assert low.right.value == datetime(2026, 2, 1, tzinfo=UTC)
    assert [t.right.value for t in in_years(table.c.day, period)] == [2026, 2026]


def test_sql_per_dialect() -> None:
    query = select(
        year_month(table.c.at), year_month(table.c.day), days_between(table.c.later, table.c.at)
    )
    lite = str(query.compile(dialect=sqlite.dialect()))
    assert "substr(t.at, 1, 7)" in lite and "julianday(t.later) - julianday(t.at)" in lite
    pg = str(query.compile(dialect=postgresql.dialect()))
    assert "to_char((t.at) AT TIME ZONE 'UTC', 'YYYY-MM')" in pg
    assert "to_char(t.day, 'YYYY-MM')" in pg
    assert "EXTRACT(EPOCH FROM (t.later) - (t.at)) / 86400.0" in pg


@pytest.mark.parametrize(
    ("month", "valid"),
    [
        ("2026-01", True),
        ("1900-12", True),
        ("0000-01", False),
        ("9999-12", False),
        ("2026-13", False),
    ],
)
def test_months_are_those_a_datetime_holds(month: str, valid: bool) -> None:
    assert bool(re.fullmatch(MONTH_PATTERN, month)) is valid
