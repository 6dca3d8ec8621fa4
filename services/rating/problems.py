"""The problem types the rating service raises, each with its English title.

Rating raises its own problems through :func:`conflict` (or :class:`RatingProblem`), so every
type has a title that says what went wrong, not just "Conflict". All three titles are in the
kit's central catalogue (services/kit/problem_titles.py, the rating block); a test checks that
every slug here is raised and that rating raises no slug missing from here.
"""

from __future__ import annotations

from typing import Any

from services.kit.errors import Problem
from services.kit.problem_titles import PROBLEM_TITLES

#: Rating's own types; their titles (en, zh-CN, zh-HK) are in the kit's catalogue.
RATING_SLUGS = frozenset(
    {
        "already-rated",
        "no-finished-engagement",
        "review-window-closed",
        "assessment-year-not-open",
        "year-exists",
        "year-closed",
        "nothing-published",
        "appeal-pending",
        "appeal-decided",
        "appeal-window-closed",
        "already-moderated",
        "not-a-review",
        "already-replied",
    }
)


class RatingProblem(Problem):
    def __init__(self, status: int, slug: str, detail: str, **extensions: Any) -> None:
        super().__init__(status, slug, PROBLEM_TITLES[slug][0], detail, **extensions)


def conflict(slug: str, detail: str, **extensions: Any) -> RatingProblem:
    """A 409 of one of rating's types, with its own title."""
    return RatingProblem(409, slug, detail, **extensions)
