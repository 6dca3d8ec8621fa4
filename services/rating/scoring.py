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


@dataclass(frozen=True)
class SourceSummary:
    count: int
    #: Mean of the source's scores, rounded half-up to two decimals (for display).
    mean: Decimal


@dataclass(frozen=True)
class Level:
    stars: int
    #: Weighted score, rounded half-up to two decimals; the stars derive from this value.
    score: Decimal
    sources: dict[Source, SourceSummary]


def round_score(value: Fraction | Decimal) -> Decimal:
    """Round half-up to two decimals, exactly (a Fraction never passes through a float)."""
    fraction = Fraction(value)
    return (Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )


def weighted_score(means: Mapping[Source, Fraction | Decimal]) -> Decimal:
    """The weighted score of the present sources' means, weights redistributed (rule 2)."""
    if not means:
        raise ValueError("no scores to weigh")
    total_weight = sum((WEIGHTS[source] for source in means), Fraction(0))
    weighted = sum((WEIGHTS[s] * Fraction(mean) for s, mean in means.items()), Fraction(0))
    return round_score(weighted / total_weight)


def stars_for(score: Decimal) -> int:
    """Stars for a (rounded) weighted score, before the self-only cap."""
    for minimum, stars in STAR_THRESHOLDS:
        if score >= minimum:
            return stars
    return MIN_STARS


def level_for(scores: Iterable[tuple[Source, Decimal]]) -> Level | None:
    """The level from all ``(source, score)`` pairs of a worker's year; None without scores."""
    by_source: dict[Source, list[Fraction]] = {}
    for source, score in scores:
        if source not in WEIGHTS:
            raise ValueError(f"unknown source {source!r}")
        by_source.setdefault(source, []).append(Fraction(score))
    if not by_source:
        return None
    means = {source: sum(values, Fraction(0)) / len(values) for source, values in by_source.items()}
    score = weighted_score(means)
    stars = stars_for(score)
    if set(by_source) == {"self"}:
        stars = min(stars, SELF_ONLY_MAX_STARS)
    sources = {
        source: SourceSummary(count=len(by_source[source]), mean=round_score(means[source]))
        for source in SOURCES
        if source in by_source
    }
    return Level(stars=stars, score=score, sources=sources)


def to_hundredths(score: Decimal) -> int:
    """Storage form of a score with at most two decimals; refuses to round silently."""
    hundredths = score * 100
    if hundredths != hundredths.to_integral_value():
        raise ValueError(f"score {score} has more than two decimals")
    return int(hundredths)


def from_hundredths(hundredths: int) -> Decimal:
    return Decimal(hundredths) / 100
