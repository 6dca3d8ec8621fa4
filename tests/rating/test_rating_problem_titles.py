"""Every problem type the rating service raises has a zh-CN, zh-HK and English title: its
own types are named in services/rating/problems.py and titled in the kit's catalogue;
a scan of rating's modules finds no slug raised that is missing from them."""

from __future__ import annotations

import ast
from pathlib import Path

from services.kit.problem_titles import PROBLEM_TITLES
from services.rating import problems
from tests.rating.rating_support import YEAR, RatingHarness, officer

RATING = Path(problems.__file__).parent


def raised_slugs() -> set[str]:
    """Slugs written in rating's modules: ``slug=``, ``conflict(slug, …)`` and the second
    argument of ``Problem(…)``/``RatingProblem(…)``/``super().__init__(…)``."""
    found: set[str] = set()
    for module in sorted(RATING.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            candidates = [k.value for k in node.keywords if k.arg == "slug"]
            if name == "conflict" and node.args:
                candidates.append(node.args[0])
            if name in ("Problem", "RatingProblem", "__init__") and len(node.args) > 1:
                candidates.append(node.args[1])
            found |= {
                c.value
                for c in candidates
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
    return found


def test_every_rating_problem_type_has_three_titles() -> None:
    raised = raised_slugs()
    own = problems.RATING_SLUGS
    assert own <= raised, "a registered type nobody raises"
    for slug in raised:
        assert slug in PROBLEM_TITLES, f"{slug} has no titles in services/kit/problem_titles.py"
    for slug in own:
        assert PROBLEM_TITLES[slug][0] != "Conflict", slug


async def test_a_rating_problem_answers_in_the_callers_language(rating: RatingHarness) -> None:
    titles = {}
    for language in ("zh-CN", "zh-HK", "en"):
        again = await rating.client.post(
            "/api/v1/assessments/years",
            json={"year": YEAR},
            headers={**officer(), "Accept-Language": language},
        )
        assert again.status_code == 409
        assert again.json()["type"] == "https://jiasao.gov.cn/problems/year-exists"
        titles[language] = again.json()["title"]
    assert titles == {
        "zh-CN": "评定年度已开放过",
        "zh-HK": "評定年度已開放過",
        "en": "Assessment year already opened",
    }
