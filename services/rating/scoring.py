"""How a worker's yearly star level follows from the scores raters gave. Pure: no I/O.

The rule, for one worker and one year:

1. Each rater gives one score (0–100) per source; re-rating replaces the rater's earlier score,
   so every rater counts once. Per source (``employer``, ``company``, ``self``) we take the
   arithmetic mean of that source's scores.
2. The weighted score is ``Σ w·mean / Σ w`` over the sources that have at least one score, with
   base weights employer 0.5, company 0.3, self 0.2. Dividing by the sum of the *present*
   weights redistributes an absent source's weight over the present ones in proportion to their
   own weights: without company scores, employer counts 0.5/0.7 ≈ 0.714 and self 0.2/0.7 ≈
   0.286; with employer scores only, employer counts 1.
3. The arithmetic is exact (fractions); the weighted score is then rounded half-up to two
   decimals, and the star thresholds apply to that rounded score. So the stars always agree
   with the score the API shows, and binary floating point never turns 90 into 89.999….
4. Stars: score ≥ 90 → 5, ≥ 80 → 4, ≥ 70 → 3, ≥ 60 → 2, otherwise 1.
5. Cap: when self-evaluation is the only source, the stars are capped at 3
   (:data:`SELF_ONLY_MAX_STARS`). Trust comes from others: a worker cannot rate themself to 4
   or 5 stars. The score itself is not capped; it stays the self mean.

Everything above that is programme policy (weights, thresholds, the cap, how an absent source
counts) is a :class:`StarPolicy`, published and versioned in the database (policies.py); the
constants below are version 1 of it, the rule as first published, which the first migration
seeds and the pure functions default to.

Scores are stored as integer hundredths (:func:`to_hundredths`), which is exact on SQLite and
PostgreSQL alike; the API accepts at most two decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal, get_args

Source = Literal["employer", "company", "self"]
SOURCES: tuple[Source, ...] = get_args(Source)

#: Base weights; they sum to 1 when every source is present.
WEIGHTS: Mapping[Source, Fraction] = {
    "employer": Fraction(5, 10),
    "company": Fraction(3, 10),
    "self": Fraction(2, 10),
}

#: (minimum rounded score, stars), best first.
STAR_THRESHOLDS: tuple[tuple[Decimal, int], ...] = (
    (Decimal(90), 5),
    (Decimal(80), 4),
    (Decimal(70), 3),
    (Decimal(60), 2),
)
MIN_STARS = 1
SELF_ONLY_MAX_STARS = 3

_CENT = Decimal("0.01")

AbsentRule = Literal["redistribute", "zero"]


@dataclass(frozen=True)
class StarPolicy:
    """The published rule that turns a year's evidence into stars (one version of it)."""

    version: int
    weights: Mapping[Source, Fraction]
    #: (minimum rounded score, stars), best first.
    thresholds: tuple[tuple[Decimal, int], ...]
    #: "redistribute": an absent source's weight goes to the present ones in proportion;
    #: "zero": an absent source counts as a score of 0 at its full weight.
    absent_sources: AbsentRule
    #: Fewer than this many scores from others (employer reviews and company evaluations)
    #: caps the stars at ``capped_max_stars``; version 1 (1 and 3) is the self-only cap.
    min_reviews: int
    capped_max_stars: int


#: Version 1 of the policy: the rule as first published (see the module docstring).
POLICY_V1 = StarPolicy(
    version=1,
    weights=WEIGHTS,
    thresholds=STAR_THRESHOLDS,
    absent_sources="redistribute",
    min_reviews=1,
    capped_max_stars=SELF_ONLY_MAX_STARS,
)


@dataclass(frozen=True)
class SourceSummary:
    count: int
    #: Mean of the source's scores, rounded half-up to two decimals (for display).
    mean: Decimal


@dataclass(frozen=True)
class Contribution:
    """What one source added to the score: its effective weight times its mean."""

    source: Source
    count: int
    mean: Decimal
    #: The weight the source counted with, after the absent-source rule (exact).
    weight: Fraction
    #: Two decimals; the contributions of a level sum exactly to its score.
    points: Decimal


@dataclass(frozen=True)
class Level:
    stars: int
    #: Weighted score, rounded half-up to two decimals; the stars derive from this value.
    score: Decimal
    sources: dict[Source, SourceSummary]
    #: Every source the policy weighs, present or not, in policy order.
    contributions: tuple[Contribution, ...] = ()
    #: Whether the minimum-reviews cap limited the stars.
    capped: bool = False
    policy_version: int = 1


def round_score(value: Fraction | Decimal) -> Decimal:
    """Round half-up to two decimals, exactly (a Fraction never passes through a float)."""
    fraction = Fraction(value)
    return (Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )


def effective_weights(
    present: Iterable[Source], policy: StarPolicy = POLICY_V1
) -> dict[Source, Fraction]:
    """Each weighed source's weight after the policy's absent-source rule (rule 2)."""
    present = set(present)
    if not present:
        raise ValueError("no scores to weigh")
    if policy.absent_sources == "zero":
        total = sum(policy.weights.values(), Fraction(0))
        return {source: weight / total for source, weight in policy.weights.items()}
    total = sum((w for s, w in policy.weights.items() if s in present), Fraction(0))
    if total == 0:
        raise ValueError("the present sources all weigh nothing")
    return {s: (w / total if s in present else Fraction(0)) for s, w in policy.weights.items()}


def weighted_score(
    means: Mapping[Source, Fraction | Decimal], policy: StarPolicy = POLICY_V1
) -> Decimal:
    """The weighted score of the present sources' means, under the absent-source rule."""
    weights = effective_weights(means, policy)
    weighted = sum((weights[s] * Fraction(mean) for s, mean in means.items()), Fraction(0))
    return round_score(weighted)


def stars_for(score: Decimal, policy: StarPolicy = POLICY_V1) -> int:
    """Stars for a (rounded) weighted score, before the minimum-reviews cap."""
    for minimum, stars in policy.thresholds:
        if score >= minimum:
            return stars
    return MIN_STARS


def split_points(exact: Mapping[Source, Fraction], total: Decimal) -> dict[Source, Decimal]:
    """Round each exact contribution to cents so that they sum to ``total`` exactly.

    ``total`` is the half-up rounding of their exact sum. Each is rounded down, and the
    missing cents go to the largest remainders (ties in the given order): the explanation
    then adds up to the score the worker sees, to the cent.
    """
    cents = {s: Fraction(v) * 100 for s, v in exact.items()}
    floors = {s: c.numerator // c.denominator for s, c in cents.items()}
    missing = int(total * 100) - sum(floors.values())
    order = sorted(cents, key=lambda s: cents[s] - floors[s], reverse=True)
    if not 0 <= missing <= len(order):
        raise ValueError("total is not the rounding of the contributions' sum")
    for source in order[:missing]:
        floors[source] += 1
    return {s: Decimal(floors[s]) / 100 for s in exact}


def level_for(
    scores: Iterable[tuple[Source, Decimal]], policy: StarPolicy = POLICY_V1
) -> Level | None:
    """The level from all ``(source, score)`` pairs of a worker's year; None without scores."""
    by_source: dict[Source, list[Fraction]] = {}
    for source, score in scores:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        by_source.setdefault(source, []).append(Fraction(score))
    if not by_source:
        return None
    means = {source: sum(values, Fraction(0)) / len(values) for source, values in by_source.items()}
    weights = effective_weights(means, policy)
    exact = {s: w * means.get(s, Fraction(0)) for s, w in weights.items()}
    score = round_score(sum(exact.values(), Fraction(0)))
    stars = stars_for(score, policy)
    others = sum(len(v) for s, v in by_source.items() if s != "self")
    capped = others < policy.min_reviews and stars > policy.capped_max_stars
    if capped:
        stars = policy.capped_max_stars
    sources = {
        source: SourceSummary(count=len(by_source[source]), mean=round_score(means[source]))
        for source in SOURCES
        if source in by_source
    }
    points = split_points(exact, score)
    contributions = tuple(
        Contribution(
            source=s,
            count=len(by_source.get(s, [])),
            mean=round_score(means.get(s, Fraction(0))),
            weight=weights[s],
            points=points[s],
        )
        for s in weights
    )
    return Level(
        stars=stars,
        score=score,
        sources=sources,
        contributions=contributions,
        capped=capped,
        policy_version=policy.version,
    )


def to_hundredths(score: Decimal) -> int:
    """Storage form of a score with at most two decimals; refuses to round silently."""
    hundredths = score * 100
    if hundredths != hundredths.to_integral_value():
        raise ValueError(f"score {score} has more than two decimals")
    return int(hundredths)


def from_hundredths(hundredths: int) -> Decimal:
    return Decimal(hundredths) / 100
