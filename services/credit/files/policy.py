"""The credit policy as data (DESIGN.md §7) and the scoring it drives.

A score is ``base_score`` plus one contribution per record in force; each contribution is the
kind's weight times the factor of the record's severity (each line names the severity; the API
adds the weight and factor of the version that computed it), and records of a kind beyond the
policy's ``max_counted`` contribute 0 (still listed, marked ``capped``). So the explanation sums
exactly to the score: integers only, no clamping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.credit import CreditLevel
from services.kit.strict import WholeNumber

PositiveKind = Literal[
    "certificate",
    "skill_title",
    "stars_high",
    "honour",
    "model_worker",
    "engagement_finished",
    "officer_commendation",
]
NegativeKind = Literal[
    "complaint_upheld",
    "training_fraud",
    "subsidy_fraud",
    "contract_broken",
    "rating_low",
    "mandatory_check_expired",
    "officer_sanction",
]
RecordKind = Literal[PositiveKind, NegativeKind]
POSITIVE_KINDS: frozenset[str] = frozenset(get_args(PositiveKind))
NEGATIVE_KINDS: frozenset[str] = frozenset(get_args(NegativeKind))
LEVELS: tuple[CreditLevel, ...] = ("A", "B", "C", "D")


def polarity_of(kind: str) -> Literal["positive", "negative"]:
    return "positive" if kind in POSITIVE_KINDS else "negative"


class LevelRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: CreditLevel
    min_score: WholeNumber = Field(ge=-10_000, le=10_000, description="Lowest score of the level")


class CreditRules(BaseModel):
    """One version of the credit policy."""

    model_config = ConfigDict(extra="forbid")

    base_score: WholeNumber = Field(ge=0, le=1000, description="Score of a file with no record")
    weights: dict[RecordKind, WholeNumber] = Field(
        description="Points per record of each kind (positive kinds ≥ 0, negative ≤ 0)"
    )
    severity_factors: list[WholeNumber] = Field(
        min_length=3, max_length=3, description="Factor for severity 1, 2 and 3"
    )
    max_counted: dict[RecordKind, WholeNumber] = Field(
        default_factory=dict, description="At most this many records of a kind count"
    )
    levels: list[LevelRule] = Field(
        min_length=4, max_length=4, description="A, B, C, D with strictly falling min_score"
    )
    blacklist_level: CreditLevel | None = Field(
        description="A party at this level is blacklisted automatically; null = never"
    )
    redlist_level: CreditLevel | None = Field(
        description="A party at this level with no negative record in force is red-listed "
        "automatically; null = never"
    )
    red_publication_days: WholeNumber = Field(ge=1, le=3650)
    black_publication_days: WholeNumber = Field(ge=1, le=3650)
    #: Negative records weigh and are published this many days, by severity 1, 2, 3.
    negative_publication_days: list[WholeNumber] = Field(min_length=3, max_length=3)
    #: A repair may be applied for this many days after the record took effect, by severity.
    repair_min_days: list[WholeNumber] = Field(min_length=3, max_length=3)
    complaint_decision_days: WholeNumber = Field(ge=1, le=365)

    @model_validator(mode="after")
    def _coherent(self) -> CreditRules:
        missing = (POSITIVE_KINDS | NEGATIVE_KINDS) - set(self.weights)
        if missing:
            raise ValueError(f"weights missing for {sorted(missing)}")
        for kind, weight in self.weights.items():
            if (kind in POSITIVE_KINDS and weight < 0) or (kind in NEGATIVE_KINDS and weight > 0):
                raise ValueError(f"weight of {kind} has the wrong sign")
        if [rule.level for rule in self.levels] != list(LEVELS):
            raise ValueError("levels must be A, B, C, D in this order")
        mins = [rule.min_score for rule in self.levels]
        if any(a <= b for a, b in pairwise(mins)):
            raise ValueError("min_score must fall strictly from A to D")
        if any(f < 0 or f > 100 for f in self.severity_factors):
            raise ValueError("severity factors must be 0..100")
        if any(d < 1 or d > 3650 for d in self.negative_publication_days + self.repair_min_days):
            raise ValueError("periods must be 1..3650 days")
        if any(v < 0 for v in self.max_counted.values()):
            raise ValueError("max_counted must not be negative")
        return self

    def level_of(self, score: int) -> CreditLevel:
        for rule in self.levels:
            if score >= rule.min_score:
                return rule.level
        return LEVELS[-1]


#: Version 1, which the migration stores; later versions are made through the API.
DEFAULT_RULES: dict[str, Any] = {
    "base_score": 70,
    "weights": {
        "certificate": 4,
        "skill_title": 8,
        "stars_high": 5,
        "honour": 6,
        "model_worker": 10,
        "engagement_finished": 1,
        "officer_commendation": 5,
        "complaint_upheld": -12,
        "training_fraud": -40,
        "subsidy_fraud": -40,
        "contract_broken": -15,
        "rating_low": -8,
        "mandatory_check_expired": -6,
        "officer_sanction": -10,
    },
    "severity_factors": [1, 2, 3],
    "max_counted": {"certificate": 5, "engagement_finished": 10, "stars_high": 3, "honour": 5},
    "levels": [
        {"level": "A", "min_score": 85},
        {"level": "B", "min_score": 70},
        {"level": "C", "min_score": 55},
        {"level": "D", "min_score": -10000},
    ],
    "blacklist_level": "D",
    "redlist_level": "A",
    "red_publication_days": 365,
    "black_publication_days": 365,
    "negative_publication_days": [180, 365, 1095],
    "repair_min_days": [30, 90, 365],
    "complaint_decision_days": 15,
}


@dataclass(frozen=True)
class Counted:
    """What scoring needs of a record."""

    id: str
    kind: str
    severity: int
    effective_from: datetime


def explain(
    rules: CreditRules, records: Iterable[Counted]
) -> tuple[int, CreditLevel, list[dict[str, Any]]]:
    """Score, level and the explanation (one line per record) for the records in force."""
    lines: list[dict[str, Any]] = []
    counted: dict[str, int] = {}
    score = rules.base_score
    for record in sorted(records, key=lambda r: (r.effective_from, r.id)):
        cap = rules.max_counted.get(record.kind)  # type: ignore[call-overload]
        seen = counted.get(record.kind, 0)
        capped = cap is not None and seen >= cap
        points = 0
        if not capped:
            factor = rules.severity_factors[record.severity - 1]
            points = rules.weights[record.kind] * factor  # type: ignore[index]
            counted[record.kind] = seen + 1
        score += points
        lines.append(
            {
                "record_id": record.id,
                "kind": record.kind,
                "severity": record.severity,
                "points": points,
                "capped": capped,
            }
        )
    return score, rules.level_of(score), lines


def arithmetic(rules: CreditRules, line: dict[str, Any]) -> dict[str, Any]:
    """An explanation line with the policy's weight of its kind and factor of its severity
    (stored lines before severity was kept: both None)."""
    severity = line.get("severity")
    if severity is None:
        return {**line, "weight": None, "factor": None}
    weight = rules.weights[line["kind"]]  # type: ignore[index]
    return {**line, "weight": weight, "factor": rules.severity_factors[severity - 1]}
