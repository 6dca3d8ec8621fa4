"""The pages in a real headless Chromium (Debian's, driven by Playwright) against the whole
platform in subprocesses, seeded through its API: an officer signs in and sees every figure
drawn, a county filter changes the figures, a CSV holds exactly a chart's rows; a public page in
all three languages (and on a 375 px phone); the verification page shows a card's colour."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devtools.run import Platform
from devtools.web_seed import Seeded, seed, staff_token
from tests.e2e.conftest import start_platform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def web_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    platform = start_platform(request.config, tmp_path_factory.mktemp("web-platform"))
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def seeded(web_platform: Platform) -> Seeded:
    return seed(web_platform.gateway_url, web_platform.config.var_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is part of CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def figures_on(page: Page) -> dict[str, dict[str, Any]]:
    """What each chart draws, read from the page: element id → the embedded figure data."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.chart[data-source]')].map(
            el => [el.id, JSON.parse(document.getElementById(el.dataset.source).textContent)]))"""
    )


def sign_in(page: Page, gateway: str, seeded: Seeded) -> None:
    page.goto(f"{gateway}/login")
    page.get_by_label("手机号码").fill(seeded.officer_phone)
    page.get_by_label("密码").fill(seeded.officer_password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{gateway}/dashboard")


def test_officer_dashboard_filter_and_csv(
    web_platform: Platform, seeded: Seeded, browser: Browser, tmp_path: Any
) -> None:
    gateway = web_platform.gateway_url
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(r.url) if r.status == 404 else None)
        sign_in(page, gateway, seeded)
        [session] = [c for c in context.cookies() if c["name"] == "jiasao_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert not session["secure"]  # plain http here; Secure over https (unit test)
        # An expired session is renewed with the refresh token (also HttpOnly).
        [refresh] = [c for c in context.cookies() if c["name"] == "jiasao_refresh"]
        assert refresh["httpOnly"] and refresh["sameSite"] == "Strict"
        context.clear_cookies(name="jiasao_session")
        page.goto(f"{gateway}/nominate")  # a light page that shows who is signed in
        assert "工作人员请在后台审核推荐" in page.get_by_role("status").inner_text()
        [renewed] = [c for c in context.cookies() if c["name"] == "jiasao_session"]
        assert renewed["value"] != session["value"]
        page.goto(f"{gateway}/dashboard")

        # Every figure every service reports is on the page, drawn (a canvas) with its table.
        token = {"Authorization": f"Bearer {staff_token(web_platform.config.var_dir, 'officer')}"}
        expected: dict[str, list[dict[str, Any]]] = {}
        for topic in (
            "workers",
            "training",
            "subsidies",
            "training-bases",
            "credit",
            "cards",
            "insurance",
            "stars",
            "jobs",
            "fairs",
        ):
            answer = httpx.get(f"{gateway}/api/v1/statistics/{topic}", headers=token, timeout=10)
            if answer.status_code == 200:
                for figure in answer.json()["figures"]:
                    if figure["rows"]:
                        expected[f"chart-{topic}--{figure['key']}"] = figure["rows"]
        assert "chart-workers--workers_by_status_county" in expected
        page.wait_for_selector(".chart[data-rendered='true']")
        drawn = figures_on(page)
        assert set(drawn) == set(expected)
        for element_id, rows in expected.items():
            chart = page.locator(f"#{element_id}")
            assert chart.get_attribute("data-rendered") == "true", element_id
            assert chart.locator("canvas").count() >= 1, element_id
            assert drawn[element_id]["rows"] == rows
            table = page.locator(f"#table-{element_id.removeprefix('chart-')} tbody tr")
            assert table.count() == len(rows), element_id
        assert errors == []

        # The county filter changes the figures (server-side, with the officer's token).
        key = "chart-workers--workers_by_status_county"
        everywhere = drawn[key]["rows"]
        assert {row["county"] for row in everywhere} >= {"gaoyao", "sihui"}
        page.get_by_label("县区", exact=True).select_option("sihui")
        page.get_by_role("button", name="应用").click()
        page.wait_for_url("**county=sihui**")
        page.wait_for_selector(".chart[data-rendered='true']")
        in_sihui = figures_on(page)[key]["rows"]
        assert in_sihui != everywhere
        assert {row["county"] for row in in_sihui} == {"sihui"}

        # The CSV of that chart holds exactly its rows.
        figure = page.locator("#figure-workers--workers_by_status_county")
        with page.expect_download() as download_info:
            figure.get_by_role("link", name="下载 CSV").click()
        path = tmp_path / "figure.csv"
        download_info.value.save_as(path)
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        dimensions = figures_on(page)[key]["dimensions"]
        assert rows[0] == [*dimensions, "value"]
        assert rows[1:] == [
            ["" if r[c] is None else str(r[c]) for c in (*dimensions, "value")] for r in in_sihui
        ]
    finally:
        context.close()


def test_public_pages_in_three_languages_and_card_colour(
    web_platform: Platform, seeded: Seeded, browser: Browser
) -> None:
    gateway = web_platform.gateway_url
    titles = {
        "zh-CN": "月嫂黄美玲：用心守护新生命",
        "zh-HK": "月嫂黃美玲：用心守護新生命",
        "en": "Huang Meiling: caring for new lives",
    }
    page = browser.new_page(viewport={"width": 375, "height": 812}, locale="en-GB")
    page.set_default_timeout(10_000)
    try:
        for lang, title in titles.items():
            page.goto(f"{gateway}/cases?lang={lang}")
            assert page.locator("html").get_attribute("lang") == lang
            page.get_by_role("link", name=title).click()
            page.wait_for_url(f"{gateway}/cases/{seeded.case_id}")
            assert page.get_by_role("heading", level=1).inner_text() == title
            photo = page.locator("img.photo")
            assert photo.evaluate("img => img.complete && img.naturalWidth") == 96
            # Fits a 375 px phone: nothing scrolls sideways.
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
        # The switch was remembered: the home page now comes in English without ?lang.
        page.goto(gateway + "/")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", name="The four tracks").is_visible()

        # From the card-check form to credit's verification page: the card's colour.
        assert seeded.card_code is not None
        page.goto(f"{gateway}/card-check?lang=zh-CN")
        page.get_by_label("核验码").fill(seeded.card_code)
        page.get_by_role("button", name="核验").click()
        page.wait_for_url(f"**/verify/{seeded.card_code}**")
        status = page.get_by_role("status")
        assert status.get_attribute("data-colour") == seeded.card_colour
        assert seeded.card_colour in ("green", "yellow")

        # A worker answers the open call: the form reaches the brand API (CSRF token and all).
        page.goto(f"{gateway}/login?lang=en&next=/nominate")
        page.get_by_label("Mobile number").fill(seeded.worker_phone)
        page.get_by_label("Password").fill(seeded.worker_password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{gateway}/nominate")
        page.get_by_label("Name or title").fill("Ms Wong")
        page.get_by_label("County").select_option("deqing")
        page.get_by_label("Why you nominate them").fill("Ten years caring for a neighbour.")
        page.get_by_role("button", name="Send nomination").click()
        assert page.get_by_role("status").inner_text().startswith("Thank you!")
    finally:
        page.close()
