"""The published, versioned star policy: read the current one, publish a new one.

A closing, a provisional level and a recompute all use the policy current at that moment and
record its version with the level. Versions are never edited: a change is a new version.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.errors import NotFound
from services.kit.types import utcnow
from services.rating.models import StarPolicyRow
from services.rating.policy_schemas import StarPolicyCreate, StarPolicyRules
from services.rating.scoring import StarPolicy

#: Version 1, as the migration that created the policy table seeded it.
V1_RULES: dict[str, Any] = {
    "weights": {"employer": "0.5", "company": "0.3", "self": "0.2"},
    "thresholds": [
        {"min_score": "90", "stars": 5},
        {"min_score": "80", "stars": 4},
        {"min_score": "70", "stars": 3},
        {"min_score": "60", "stars": 2},
    ],
    "absent_sources": "redistribute",
    "min_reviews": 1,
    "capped_max_stars": 3,
    "review_window_days": 30,
    "appeal_window_days": 30,
    "appeal_decision_days": 15,
    "abuse": {
        "top_score": "95",
        "max_top_reviews_per_employer": 2,
        "burst_per_day": 3,
        "outlier_gap": "40",
    },
}


def rules_of(row: StarPolicyRow) -> StarPolicyRules:
    """The stored rules (decimals kept as strings, see StarPolicyRules.stored) as a model."""
    stored = row.rules
    return StarPolicyRules.model_validate(
        stored
        | {
            "weights": {s: Decimal(w) for s, w in stored["weights"].items()},
            "thresholds": [
                {"min_score": Decimal(t["min_score"]), "stars": t["stars"]}
                for t in stored["thresholds"]
            ],
            "abuse": stored["abuse"]
            | {
                "top_score": Decimal(stored["abuse"]["top_score"]),
                "outlier_gap": Decimal(stored["abuse"]["outlier_gap"]),
            },
        }
    )


def star_policy(row: StarPolicyRow) -> StarPolicy:
    """The scoring rule of a stored version (exact: weights parse from decimal strings)."""
    rules = rules_of(row)
    return StarPolicy(
        version=row.version,
        weights={s: Fraction(w) for s, w in rules.weights.items()},
        thresholds=tuple((Decimal(t.min_score), t.stars) for t in rules.thresholds),
        absent_sources=rules.absent_sources,
        min_reviews=rules.min_reviews,
        capped_max_stars=rules.capped_max_stars,
    )


async def current(session: AsyncSession) -> StarPolicyRow:
    row = await session.scalar(select(StarPolicyRow).order_by(StarPolicyRow.version.desc()))
    if row is None:  # the migration seeds version 1
        raise RuntimeError("no star policy: the rating database is not migrated")
    return row


async def get(session: AsyncSession, version: int) -> StarPolicyRow:
    row = await session.get(StarPolicyRow, version)
    if row is None:
        raise NotFound("star policy", version)
    return row


async def publish_policy(
    session: AsyncSession, data: StarPolicyCreate, actor: str
) -> StarPolicyRow:
    """Publish the next version. Levels already published keep the version they record."""
    latest = await session.scalar(select(func.max(StarPolicyRow.version)))
    row = StarPolicyRow(
        version=(latest or 0) + 1,
        rules=data.rules.stored(),
        published_at=utcnow(),
        published_by=actor,
        note=data.note,
    )
    session.add(row)
    await session.flush()
    return row
