"""The pass rule, without a database."""

from __future__ import annotations

import pytest

from services.training.models import Course
from services.training.service import passes


def course(hours: float = 40, pass_score: float = 60) -> Course:
    return Course(hours=hours, pass_score=pass_score)


@pytest.mark.parametrize(
    ("score", "attended", "expected"),
    [
        (60, 32, True),  # both exactly at the bar
        (59.9, 40, False),  # score just below
        (100, 31.9, False),  # attendance just below 80%
        (75, 40, True),
        (0, 0, False),
    ],
)
def test_pass_needs_score_and_attendance(score: float, attended: float, expected: bool) -> None:
    assert passes(course(), score, attended) is expected


def test_attendance_bar_is_exact_in_decimal() -> None:
    # 7 * 0.8 is 5.6000000000000005 in binary floats; 5.6 hours must still be enough.
    assert passes(course(hours=7), 60, 5.6)
    assert not passes(course(hours=7), 60, 5.59)


def test_pass_score_zero_accepts_any_score() -> None:
    assert passes(course(pass_score=0), 0, 40)
