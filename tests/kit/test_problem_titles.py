"""Problem titles and validation messages in the caller's language, and a catalogue that covers
every problem any service raises."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.nats import NatsServer
from services.kit.errors import problem_body
from services.kit.i18n import language_var
from services.kit.problem_titles import PROBLEM_TITLES
from tests.kit.test_app import make_app
from tests.support.apps import running_app

ROOT = Path(__file__).resolve().parents[2]
#: Exception classes whose first three positional arguments are (status, slug, title).
_PROBLEM_CALLS = {"Problem", "problem", "problem_response", "problem_body"}


def raised_slugs() -> Iterator[tuple[str, str]]:
    """(slug, file) for every literal slug the code raises: ``Problem(status, "slug", …)``
    and ``slug="…"`` keywords (``Conflict``, ``InvalidField`` and the like)."""
    for folder in ("services", "gateway"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in _PROBLEM_CALLS and len(node.args) >= 2:
                    slug = node.args[1]
                    if isinstance(slug, ast.Constant) and isinstance(slug.value, str):
                        yield slug.value, str(path.relative_to(ROOT))
                for keyword in node.keywords:
                    if keyword.arg == "slug" and isinstance(keyword.value, ast.Constant):
                        yield str(keyword.value.value), str(path.relative_to(ROOT))


def test_every_raised_problem_has_titles_in_three_languages() -> None:
    found = dict(raised_slugs())
    assert len(found) > 50  # the scan sees the services' problems, not an empty tree
    missing = {slug: where for slug, where in found.items() if slug not in PROBLEM_TITLES}
    assert missing == {}, "add these slugs to services/kit/problem_titles.py"
    for slug, titles in PROBLEM_TITLES.items():
        assert all(t.strip() for t in titles), slug


@pytest.mark.parametrize(
    ("language", "title"),
    [("zh-CN", "已报名"), ("zh-HK", "已報名"), ("en", "Already enrolled")],
)
def test_a_conflict_is_named_by_its_slug(language: str, title: str) -> None:
    token = language_var.set(language)
    try:
        body = problem_body(409, "already-enrolled", "Conflict", "The worker is enrolled")
    finally:
        language_var.reset(token)
    assert body["title"] == title
    assert body["detail"] == "The worker is enrolled"


def test_specific_english_titles_stay_and_unknown_slugs_fall_back_to_the_status() -> None:
    token = language_var.set("en")
    try:
        assert problem_body(404, "not-found", "Worker not found")["title"] == "Worker not found"
    finally:
        language_var.reset(token)
    token = language_var.set("zh-HK")
    try:
        # A slug nobody catalogued still reads in the caller's language, by its status.
        assert problem_body(409, "brand-new-slug", "Conflict")["title"] == "衝突"
    finally:
        language_var.reset(token)


async def test_validation_messages_follow_accept_language(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", nats_server.url)
    async with running_app(app) as client:
        bad = {"name": "", "size": 0}
        zh = (await client.post("/api/v1/things", json=bad)).json()
        assert zh["title"] == "输入无效"
        assert zh["detail"] == "以下字段无效：name, size"
        messages = {e["field"]: e["message"] for e in zh["errors"]}
        assert messages == {"name": "至少 1 个字符", "size": "应不小于 1"}
        hk = await client.post("/api/v1/things", json=bad, headers={"Accept-Language": "zh-HK"})
        assert {e["message"] for e in hk.json()["errors"]} == {"最少 1 個字元", "應不小於 1"}
        en = await client.post("/api/v1/things", json=bad, headers={"Accept-Language": "en"})
        assert en.json()["detail"] == "Invalid fields: name, size"
        assert {e["code"] for e in en.json()["errors"]} == {
            "string_too_short",
            "greater_than_equal",
        }
        assert "Input should be greater than or equal to 1" in {
            e["message"] for e in en.json()["errors"]
        }
