"""Fast checks of the page modules (pure logic): the language choice and the catalogue, CSRF,
cookie flags, safe redirects, the CSV of a figure, the nomination form."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from starlette.requests import Request

from contracts.statistics import Figure
from gateway.routes import PAGE_PATHS, is_page, resolve
from gateway.web.figures import cell_text, figure_csv, figure_view
from gateway.web.forms import local_path
from gateway.web.i18n import CATALOGUE, BadLanguage, choose_language, label, localised
from gateway.web.public import nomination_body
from gateway.web.security import (
    CONTENT_SECURITY_POLICY,
    CSRF_COOKIE,
    csrf_ok,
    is_https,
    session_flags,
)

TOKEN = "a" * 43


def request(
    headers: dict[str, str] | None = None, scheme: str = "http", cookies: str = ""
) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw.append((b"host", b"jiasao.test"))
    if cookies:
        raw.append((b"cookie", cookies.encode()))
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": scheme,
            "path": "/login",
            "query_string": b"",
            "headers": raw,
            "server": ("jiasao.test", 443 if scheme == "https" else 80),
        }
    )


def test_language_order_query_cookie_header_default() -> None:
    assert choose_language("en", "zh-HK", "zh-CN") == "en"
    assert choose_language(None, "zh-HK", "en") == "zh-HK"
    assert choose_language(None, None, "en-GB,en;q=0.9") == "en"
    assert choose_language(None, None, "zh-TW") == "zh-HK"
    assert choose_language(None, "fr", None) == "zh-CN"
    with pytest.raises(BadLanguage):
        choose_language("fr", None, None)


def test_every_string_in_three_languages() -> None:
    for key, row in CATALOGUE.items():
        assert len(row) == 3 and all(text.strip() for text in row), key
    # zh-HK is traditional Chinese, not a copy of the simplified text.
    assert CATALOGUE["nav_login"][1] != CATALOGUE["nav_login"][0]
    assert "體" in CATALOGUE["redlist_intro"][1] or "單" in CATALOGUE["redlist_intro"][1]
    assert label("gaoyao", "en") == "Gaoyao" and label("gaoyao", "zh-HK") == "高要區"
    assert localised({"zh-CN": "简", "en": "E"}, "zh-HK") == "简"  # falls back to zh-CN
    assert localised({"zh-CN": "简", "en": "E"}, "en") == "E"


def test_csrf_double_submit() -> None:
    cookie = f"{CSRF_COOKIE}={TOKEN}"
    assert csrf_ok(request(cookies=cookie), {"csrf_token": TOKEN})
    assert not csrf_ok(request(cookies=cookie), {"csrf_token": "b" * 43})
    assert not csrf_ok(request(cookies=cookie), {})
    assert not csrf_ok(request(), {"csrf_token": TOKEN})
    assert not csrf_ok(request(cookies=f"{CSRF_COOKIE}=short"), {"csrf_token": "short"})
    foreign = request({"Origin": "https://evil.example"}, cookies=cookie)
    assert not csrf_ok(foreign, {"csrf_token": TOKEN})
    assert csrf_ok(request({"Origin": "http://jiasao.test"}, cookies=cookie), {"csrf_token": TOKEN})


def test_cookie_flags_follow_the_scheme() -> None:
    plain = session_flags(request(), trust_forwarded=False)
    assert (plain.secure, plain.httponly, plain.samesite) == (False, True, "strict")
    assert session_flags(request(scheme="https"), trust_forwarded=False).secure
    behind = request({"X-Forwarded-Proto": "https"})
    assert is_https(behind, trust_forwarded=True)
    assert not is_https(behind, trust_forwarded=False)  # a client cannot claim https itself
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY


def test_redirects_stay_on_this_site() -> None:
    assert local_path("/dashboard?county=sihui", "/") == "/dashboard?county=sihui"
    for target in ("//evil.example/", "https://evil.example", "/\\evil", "", None, "/a\nb"):
        assert local_path(target, "/") == "/"


def test_page_paths_are_the_gateways_own() -> None:
    for path in ("/", "/login", "/dashboard", "/cases/x", "/static/css/site.css", "/redlist"):
        assert is_page(path) and resolve(path) is None, path
    # The API list stays proxied; its page twin is not.
    assert resolve("/api/v1/redlist") == "credit" and not is_page("/api/v1/redlist")
    assert resolve("/verify/ABC") == "credit" and not is_page("/verify/ABC")
    assert len(PAGE_PATHS) >= 5


FIGURE = Figure(
    key="workers_by_status_county",
    title="Workers",
    unit="count",
    chart="stacked_bar",
    dimensions=["county", "status"],
    rows=[
        {"county": "gaoyao", "status": "active", "value": 3},
        {"county": "sihui", "status": "=HYPERLINK(1)", "value": 1.5},
        {"county": "sihui", "status": None, "value": -2},
    ],
)


def test_csv_is_exactly_the_figures_rows() -> None:
    rows = list(csv.reader(io.StringIO(figure_csv(FIGURE))))
    assert rows[0] == ["county", "status", "value"]
    assert rows[1] == ["gaoyao", "active", "3"]
    assert rows[2] == ["sihui", "'=HYPERLINK(1)", "1.5"]  # no formula for a spreadsheet
    assert rows[3] == ["sihui", "", "-2"]
    assert len(rows) == 1 + len(FIGURE.rows)


def test_figure_view_words_and_table() -> None:
    view = figure_view("workers", FIGURE, "en")
    assert view.headers == ["County", "Status", "Value (count)"]
    assert figure_view("workers", FIGURE, "zh-CN").headers[-1] == "数值 (数量)"
    assert [cell_text(v, "en", amount=True) for v in (12345, 1234.5, 2.0, None)] == [
        "12,345",
        "1,234.5",
        "2",
        "–",
    ]
    assert cell_text(2026, "en") == "2026"
    assert view.cells[0] == ["Gaoyao", "Active", "3"]
    assert view.chart["rows"] == FIGURE.rows  # the chart draws the API's rows unchanged
    assert view.chart["words"]["gaoyao"] == "Gaoyao"
    assert view.element_id == "workers--workers_by_status_county"


def form(**values: str) -> dict[str, Any]:
    base = {"kind": "case", "name": "王阿姨", "story": "二十年如一日", "county": "gaoyao"}
    base.update(values)
    return base


def test_nomination_form_to_api_body() -> None:
    assert nomination_body(form(), "zh-CN") == {
        "kind": "case",
        "title": {"zh-CN": "王阿姨"},
        "body": {"zh-CN": "二十年如一日"},
        "county": "gaoyao",
    }
    english = nomination_body(form(name="Ms Wong"), "en")
    assert isinstance(english, dict) and english["title"] == {"zh-CN": "Ms Wong", "en": "Ms Wong"}
    assert nomination_body(form(kind="x"), "en") == "kind"
    assert nomination_body(form(name=" "), "en") == "name"
    assert nomination_body(form(county="paris"), "en") == "county"
    assert nomination_body(form(kind="model_worker"), "en") == "worker_id"
    assert nomination_body(form(worker_id="nope"), "en") == "worker_id"


def test_every_page_route_is_listed_and_kept_out_of_the_api_document() -> None:
    from gateway.web import dashboard, login, public

    for module in (public, login, dashboard):
        for route in module.router.routes:
            path = re.sub(r"\{[^}]+\}", "x", route.path)  # type: ignore[attr-defined]
            assert is_page(path) and resolve(path) is None, route.path  # type: ignore[attr-defined]
            assert route.include_in_schema is False  # type: ignore[attr-defined]
