"""Unit tests of the pure scoring rule (services/rating/scoring.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest

from services.rating.scoring import (
    POLICY_V1,
    SOURCES,
    Level,
    Source,
    StarPolicy,
    from_hundredths,
    level_for,
    split_points,
    stars_for,
    to_hundredths,
    weighted_score,
)


def level(*scores: tuple[Source, str]) -> Level:
    result = level_for((source, Decimal(value)) for source, value in scores)
    assert result is not None
    return result


def test_full_weights_when_every_source_is_present() -> None:
    # 0.5·100 + 0.3·50 + 0.2·0 = 65
    assert weighted_score(
        {"employer": Decimal(100), "company": Decimal(50), "self": Decimal(0)}
    ) == (Decimal("65.00"))
    assert level(("employer", "100"), ("company", "50"), ("self", "0")).stars == 2


@pytest.mark.parametrize(
    ("means", "expected"),
    [
        # only the employer: its weight becomes 1
        ({"employer": 77}, "77.00"),
        # no company: employer 0.5/0.7, self 0.2/0.7 → (45 + 12) / 0.7 = 81.428…
        ({"employer": 90, "self": 60}, "81.43"),
        # no employer: company 0.3/0.5, self 0.2/0.5 → (24 + 14) / 0.5 = 76
        ({"company": 80, "self": 70}, "76.00"),
        # no self: employer 0.5/0.8, company 0.3/0.8 → (42.5 + 24.9) / 0.8 = 84.25
        ({"employer": 85, "company": 83}, "84.25"),
    ],
)
def test_absent_weights_are_redistributed_proportionally(
    means: dict[Source, int], expected: str
) -> None:
    assert weighted_score({s: Decimal(m) for s, m in means.items()}) == Decimal(expected)


def test_each_source_is_the_mean_of_its_scores() -> None:
    result = level(("employer", "80"), ("employer", "90"), ("employer", "100"), ("company", "60"))
    assert result.sources["employer"].count == 3
    assert result.sources["employer"].mean == Decimal("90.00")
    assert result.sources["company"].count == 1
    # (0.5·90 + 0.3·60) / 0.8 = 78.75
    assert result.score == Decimal("78.75")
    assert result.stars == 3
    assert "self" not in result.sources


@pytest.mark.parametrize(
    ("score", "stars"),
    [
        ("0", 1),
        ("59.99", 1),
        ("60", 2),
        ("69.99", 2),
        ("70", 3),
        ("79.99", 3),
        ("80", 4),
        ("89.99", 4),
        ("90", 5),
        ("100", 5),
    ],
)
def test_star_thresholds_at_their_boundaries(score: str, stars: int) -> None:
    assert stars_for(Decimal(score)) == stars
    assert level(("employer", score)).stars == stars


def test_exact_arithmetic_keeps_a_boundary_score_on_the_boundary() -> None:
    # In binary floating point 0.5·90 + 0.3·90 + 0.2·90 is not exactly 90.
    result = level(("employer", "90"), ("company", "90"), ("self", "90"))
    assert result.score == Decimal("90.00")
    assert result.stars == 5


def test_stars_follow_the_rounded_score() -> None:
    # Mean 89.995 rounds half-up to 90.00, the score shown, so 5 stars.
    result = level(("employer", "89.99"), ("employer", "90"))
    assert result.score == Decimal("90.00")
    assert result.stars == 5


def test_self_evaluation_alone_is_capped_at_three_stars() -> None:
    result = level(("self", "100"))
    assert result.stars == 3
    assert result.score == Decimal("100.00")  # the cap acts on stars, not on the score
    assert level(("self", "50")).stars == 1  # the cap never lifts anyone


def test_others_lift_the_self_only_cap() -> None:
    assert level(("self", "95"), ("employer", "95")).stars == 5
    assert level(("self", "95"), ("company", "95")).stars == 5


def test_no_scores_means_no_level() -> None:
    assert level_for([]) is None
    with pytest.raises(ValueError):
        weighted_score({})


def test_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError):
        level_for([("boss", Decimal(90))])  # type: ignore[list-item]


def test_hundredths_storage_is_exact() -> None:
    assert to_hundredths(Decimal("87.5")) == 8750
    assert to_hundredths(Decimal("100")) == 10000
    assert from_hundredths(8750) == Decimal("87.5")
    with pytest.raises(ValueError):
        to_hundredths(Decimal("87.555"))


# --- the published policy and the explanation (issue 11) ----------------------------------


def policy(**changes: object) -> StarPolicy:
    return replace(POLICY_V1, **changes)  # type: ignore[arg-type]


def test_absent_sources_can_count_as_zero() -> None:
    zero = policy(version=2, absent_sources="zero")
    # Employer only: 0.5·90 + 0.3·0 + 0.2·0 = 45.
    result = level_for([("employer", Decimal(90))], zero)
    assert result is not None
    assert result.score == Decimal("45.00") and result.stars == 1
    assert result.policy_version == 2
    assert [(c.source, c.weight, c.points) for c in result.contributions] == [
        ("employer", Fraction(1, 2), Decimal("45.00")),
        ("company", Fraction(3, 10), Decimal("0.00")),
        ("self", Fraction(1, 5), Decimal("0.00")),
    ]


def test_too_few_reviews_cap_the_stars() -> None:
    strict = policy(min_reviews=3, capped_max_stars=2)
    two = level_for([("employer", Decimal(95)), ("company", Decimal(95))], strict)
    three = level_for([("employer", Decimal(95))] * 2 + [("company", Decimal(95))], strict)
    assert two is not None and three is not None
    assert (two.stars, two.capped, two.score) == (2, True, Decimal("95.00"))
    assert (three.stars, three.capped) == (5, False)
    # Self-evaluations are not reviews by others, however many.
    selfish = level_for([("self", Decimal(100))] * 5, policy(min_reviews=1))
    assert selfish is not None and selfish.stars == 3


def test_the_explanation_sums_to_the_score_to_the_cent() -> None:
    rng = random.Random(11)
    for _ in range(500):
        scores: list[tuple[Source, Decimal]] = [
            (rng.choice(SOURCES), Decimal(rng.randint(0, 10000)) / 100)
            for _ in range(rng.randint(1, 6))
        ]
        rule = policy(absent_sources=rng.choice(["redistribute", "zero"]))
        result = level_for(scores, rule)
        assert result is not None
        assert sum((c.points for c in result.contributions), Decimal(0)) == result.score
        for c in result.contributions:
            assert abs(Fraction(c.points) - c.weight * Fraction(c.mean)) <= Fraction(2, 100)


def test_split_points_gives_missing_cents_to_the_largest_remainders() -> None:
    # Thirds of 100: 33.333…, rounded down to 33.33 each (99.99); the missing cent goes to
    # the first largest remainder.
    third = Fraction(100, 3)
    points = split_points({"employer": third, "company": third, "self": third}, Decimal(100))
    assert points == {
        "employer": Decimal("33.34"),
        "company": Decimal("33.33"),
        "self": Decimal("33.33"),
    }
