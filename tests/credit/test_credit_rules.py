"""Certificate rules that need no database: numbers, validity, name masking."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.credit.models import Certificate
from services.credit.numbers import format_number, is_number, local_date
from services.credit.service import add_years, is_valid, mask_name


def test_number_format() -> None:
    assert format_number(2026, 123) == "ZQJS-2026-000123"
    assert is_number("ZQJS-2026-000123")
    for bad in ("ZQJS-2026-123", "zqjs-2026-000123", "ZQJS-26-000123", "ZQJS-2026-000123 "):
        assert not is_number(bad)
    with pytest.raises(OverflowError):
        format_number(2026, 1_000_000)


def test_the_year_is_zhaoqing_local() -> None:
    # 20:00 UTC on New Year's Eve is already New Year's Day in China.
    assert local_date(datetime(2026, 12, 31, 20, 0, tzinfo=UTC)) == date(2027, 1, 1)


def test_three_years_later() -> None:
    assert add_years(date(2026, 3, 1), 3) == date(2029, 3, 1)
    assert add_years(date(2028, 2, 29), 3) == date(2031, 2, 28)


def test_validity() -> None:
    certificate = Certificate(valid_until=date(2029, 3, 1), revoked_at=None)
    assert is_valid(certificate, today=date(2029, 3, 1))
    assert not is_valid(certificate, today=date(2029, 3, 2))
    certificate.revoked_at = datetime(2027, 1, 1, tzinfo=UTC)
    assert not is_valid(certificate, today=date(2027, 6, 1))
    assert is_valid(Certificate(valid_until=None, revoked_at=None), today=date(2099, 1, 1))


@pytest.mark.parametrize(
    ("name", "masked"),
    [("陈秀英", "陈**"), ("欧阳娜娜", "欧***"), ("李", "李*"), ("Maria", "M****"), ("", "")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked
