"""Certificate numbers ``ZQJS-<year>-<6-digit seq>`` from a per-year counter row.

The counter is bumped with ``UPDATE ... SET value = value + 1 ... RETURNING value`` inside the
issuing transaction: the row lock (PostgreSQL) or the write lock (SQLite's BEGIN IMMEDIATE)
serialises concurrent issuers, and a rolled-back issue gives its number back, so numbers are
gap-free and unique. RETURNING on UPDATE needs SQLite >= 3.35.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import NumberCounter
from services.kit.dialect import dialect_insert

SERIES = "ZQJS"
NUMBER_PATTERN = r"^ZQJS-[0-9]{4}-[0-9]{6}$"
_NUMBER = re.compile(NUMBER_PATTERN)
MAX_SEQ = 999_999

#: Zhaoqing's civil time (no daylight saving): the year on a certificate is the local year.
CHINA_TZ = timezone(timedelta(hours=8), "CST")

_counters: Table = NumberCounter.__table__  # type: ignore[assignment]


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


def format_number(year: int, seq: int) -> str:
    if not 1 <= seq <= MAX_SEQ:
        # The public format has six digits; running out must stop issuing, not mint bad numbers.
        raise OverflowError(f"certificate sequence for {year} exhausted ({seq})")
    return f"{SERIES}-{year:04d}-{seq:06d}"


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


async def next_seq(session: AsyncSession, year: int, series: str = SERIES) -> int:
    """Reserve the next sequence number of ``series`` for ``year`` in this transaction."""
    bump = (
        update(_counters)
        .where(_counters.c.series == series, _counters.c.year == year)
        .values(value=_counters.c.value + 1)
        .returning(_counters.c.value)
    )
    value = (await session.execute(bump)).scalar_one_or_none()
    if value is None:
        # First number of the year. ON CONFLICT DO NOTHING: if a concurrent issuer created the
        # row first we wait for it and then bump theirs, instead of failing.
        create = (
            dialect_insert(session, _counters)
            .values(series=series, year=year, value=0)
            .on_conflict_do_nothing(index_elements=["series", "year"])
        )
        await session.execute(create)
        value = (await session.execute(bump)).scalar_one()
    return int(value)


async def next_number(session: AsyncSession, issued_at: datetime) -> str:
    year = local_date(issued_at).year
    return format_number(year, await next_seq(session, year))
