"""The credit policy as data: validation of a version, and scoring that explains itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.credit.files.policy import (
    DEFAULT_RULES,
    Counted,
    CreditRules,
    arithmetic,
    explain,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rules(**changes: Any) -> CreditRules:
    return CreditRules.model_validate({**DEFAULT_RULES, **changes})


def record(n: int, kind: str, severity: int = 1) -> Counted:
    return Counted(f"r{n:03d}", kind, severity, T0 + timedelta(days=n))


def test_explanation_sums_to_the_score_and_caps_count() -> None:
    policy = rules(max_counted={"engagement_finished": 2})
    records = [record(n, "engagement_finished") for n in range(4)] + [
        record(10, "contract_broken", 3),
        record(11, "skill_title"),
    ]
    score, level, lines = explain(policy, records)
    assert (
        score
        == 70 + 1 + 1 + 0 + 0 - 45 + 8
        == policy.base_score + sum(line["points"] for line in lines)
    )
    assert [line["capped"] for line in lines] == [False, False, True, True, False, False]
    # Every line shows its arithmetic: weight × severity factor, 0 when capped.
    lines = [arithmetic(policy, line) for line in lines]
    assert [(line["weight"], line["factor"], line["points"]) for line in lines] == [
        (1, 1, 1),
        (1, 1, 1),
        (1, 1, 0),
        (1, 1, 0),
        (-15, 3, -45),
        (8, 1, 8),
    ]
    assert all(
        line["points"] == (0 if line["capped"] else line["weight"] * line["factor"])
        for line in lines
    )
    assert level == "D"
    assert explain(policy, []) == (70, "B", [])


@pytest.mark.parametrize(
    ("score", "level"), [(85, "A"), (84, "B"), (70, "B"), (69, "C"), (55, "C"), (54, "D")]
)
def test_level_thresholds(score: int, level: str) -> None:
    assert rules().level_of(score) == level


@pytest.mark.parametrize(
    "changes",
    [
        {"weights": {**DEFAULT_RULES["weights"], "complaint_upheld": 3}},
        {"weights": {k: v for k, v in DEFAULT_RULES["weights"].items() if k != "honour"}},
        {"levels": list(reversed(DEFAULT_RULES["levels"]))},
        {"levels": [{**lv, "min_score": 50} for lv in DEFAULT_RULES["levels"]]},
        {"severity_factors": [1, 2]},
        {"repair_min_days": [0, 90, 365]},
        {"unknown": 1},
    ],
)
def test_incoherent_policies_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        rules(**changes)
