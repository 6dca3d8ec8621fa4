"""The problem types the rating service raises, each with its English title.

Rating raises its own problems through :func:`conflict` (or :class:`RatingProblem`), so every
type has a title that says what went wrong, not just "Conflict". The zh-CN and zh-HK titles are
in the kit's central catalogue (services/kit/i18n.py, the rating block); a test checks that
every slug here is there and that rating raises no slug missing from here.
"""

from __future__ import annotations

from typing import Any

from services.kit.errors import Problem

#: slug → English title.
TITLES: dict[str, str] = {
    "already-rated": "Already rated",
    "no-finished-engagement": "No finished engagement",
    "review-window-closed": "Review window closed",
    "assessment-year-not-open": "Assessment year not open",
    "year-exists": "Assessment year already opened",
    "year-closed": "Assessment year already closed",
    "nothing-published": "No published level",
    "appeal-pending": "Appeal already pending",
    "appeal-decided": "Appeal already decided",
    "appeal-window-closed": "Appeal window closed",
    "already-moderated": "Already moderated",
    "not-a-review": "Not an employer review",
    "already-replied": "Already replied",
}

#: Types of the kit that rating raises as well (titles in the kit's catalogue).
KIT_SLUGS = frozenset(
    {"not-found", "forbidden", "validation-error", "unknown-worker", "conflict", "unauthorized"}
)


class RatingProblem(Problem):
    def __init__(self, status: int, slug: str, detail: str, **extensions: Any) -> None:
        super().__init__(status, slug, TITLES[slug], detail, **extensions)


def conflict(slug: str, detail: str, **extensions: Any) -> RatingProblem:
    """A 409 of one of rating's types, with its own title."""
    return RatingProblem(409, slug, detail, **extensions)
