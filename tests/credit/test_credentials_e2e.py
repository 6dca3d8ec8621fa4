"""The home-service card across processes: registry, training and credit each in their own
process behind the gateway, events over the platform's nats-server. A worker becomes eligible
→ card issued and insured; the health check lapses → red and the status list bit flips;
renewed → green again. Verified as a stranger would: no token, only public documents."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from devtools.run import Platform
from services.credit.credentials.verifier import verify_credential
from services.credit.numbers import local_date
from services.kit.idnumbers import make_id_card
from tests.e2e.conftest import start_platform
from tests.e2e.test_chain import poll, token_headers
from tests.registry.test_parties_support import company_body

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def card_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    platform = start_platform(request.config, tmp_path_factory.mktemp("card-platform"))
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Playwright (no browser download)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is part of CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def scan(browser: Browser, url: str, accept_language: str = "zh-CN") -> tuple[int, str, str, str]:
    """Open what the QR code points at, as a phone would: (status, colour, status text, page)."""
    page = browser.new_page(
        viewport={"width": 390, "height": 844},
        extra_http_headers={"Accept-Language": accept_language},
    )
    try:
        response = page.goto(url)
        assert response is not None
        status = page.get_by_role("status")
        colour = status.get_attribute("data-colour") if status.count() else ""
        text = status.inner_text() if status.count() else ""
        return response.status, colour or "", text, page.content()
    finally:
        page.close()


def public_document(url: str, gateway: str) -> dict[str, Any]:
    path = "/" + url.split("/", 3)[3]  # the issuer's public origin → this platform's gateway
    response = httpx.get(gateway + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def stranger_verifies(credential: dict[str, Any], gateway: str) -> Any:
    did = public_document("https://x/.well-known/did.json", gateway)
    lists = {
        entry["statusListCredential"]: public_document(entry["statusListCredential"], gateway)
        for entry in credential["credentialStatus"]
    }
    return verify_credential(credential, did, lists)


def test_card_follows_the_workers_checks_across_services(
    card_platform: Platform, browser: Browser
) -> None:
    gateway = card_platform.gateway_url
    today = local_date(datetime.now(UTC))
    officer = token_headers(card_platform, "officer")
    with httpx.Client(base_url=gateway, timeout=10, headers=officer) as api:
        company = api.post("/api/v1/companies", json=company_body())
        assert company.status_code == 201, company.text
        seq = f"{uuid.uuid4().int % 900 + 100}"
        worker = api.post(
            "/api/v1/workers",
            json={
                "name": "黄美玲",
                "id_card_number": make_id_card("441202", datetime(1985, 6, 15).date(), seq),
                "phone": "13800138024",
                "county": "gaoyao",
                "tracks": ["maternal_infant"],
                "health_check": {
                    "date": (today - timedelta(days=340)).isoformat(),
                    "institution": "肇庆市第一人民医院",
                    "valid_until": (today + timedelta(days=20)).isoformat(),
                },
                "no_criminal_record": {
                    "date": (today - timedelta(days=10)).isoformat(),
                    "result": "clear",
                    "valid_until": (today + timedelta(days=355)).isoformat(),
                },
                "employment": {"company_id": company.json()["id"]},
            },
        )
        assert worker.status_code == 201, worker.text
        worker_id = worker.json()["id"]
        assert api.post(f"/api/v1/workers/{worker_id}/verify").status_code == 200
        active = api.post(
            f"/api/v1/workers/{worker_id}/status", json={"to": "active", "reason": "上岗"}
        )
        assert active.status_code == 200, active.text

        # Training completes: the last condition; credit issues the card on its own.
        course = api.post(
            "/api/v1/courses",
            json={
                "title": "母婴护理（初级）",
                "track": "maternal_infant",
                "training_type": "pre_job",
                "hours": 40,
            },
        )
        assert course.status_code == 201, course.text

        def enrol() -> Any:
            response = api.post(
                "/api/v1/enrollments",
                json={"course_id": course.json()["id"], "worker_id": worker_id},
            )
            if response.status_code == 422 and "unknown-worker" in response.json()["type"]:
                return None
            assert response.status_code == 201, response.text
            return response.json()

        enrollment = poll(enrol)
        result = api.post(
            f"/api/v1/enrollments/{enrollment['id']}/result",
            json={"score": 92, "hours_attended": 40},
        )
        assert result.status_code == 200, result.text
        assert api.post(f"/api/v1/enrollments/{enrollment['id']}/complete").status_code == 200

        def card(colour: str) -> Any:
            response = api.get(f"/api/v1/workers/{worker_id}/credit/card")
            return (
                response.json()
                if response.status_code == 200 and response.json()["colour"] == colour
                else None
            )

        # The health check ends in 20 days: issued, insured, and yellow.
        issued = poll(lambda: card("yellow"))
        assert issued["state"] == "active"
        [cover] = api.get("/api/v1/insurance/policies", params={"worker_id": worker_id}).json()[
            "items"
        ]
        assert cover["card_id"] == issued["id"]
        credential = api.get(f"/api/v1/cards/{issued['id']}/credential").json()
        verdict = stranger_verifies(credential, gateway)
        assert verdict.valid, verdict.problems
        code = issued["verification_url"].rsplit("/", 1)[1]
        # The QR code's target, in a real browser: yellow, named in words, nothing identifying.
        scan_url = f"{gateway}/verify/{code}"
        status, colour, text, html = scan(browser, scan_url)
        assert (status, colour, text) == (200, "yellow", "有效（即将到期，请留意）")
        assert "黄**" in html and issued["number"] in html and "母婴护理" in html
        assert "暂无评级" in html  # no published star level yet
        for secret in ("13800138024", "441202", "1985", worker_id):
            assert secret not in html
        status, colour, text, html = scan(browser, scan_url, "en-GB,en;q=0.9")
        assert (status, colour, text) == (200, "yellow", "Valid (something expires soon)")
        assert '<html lang="en">' in html
        assert scan(browser, f"{scan_url}?lang=zh-HK")[2] == "有效（即將到期，請留意）"
        assert scan(browser, f"{gateway}/verify/{'A' * 22}")[0] == 404
        page = httpx.get(f"{gateway}/api/v1/verifications/cards/{code}", timeout=10)
        assert page.json()["colour"] == "yellow" and page.json()["worker_name"] == "黄**"
        assert "13800138024" not in page.text and "441202" not in page.text

        def patch_health(valid_until: str) -> None:
            etag = api.get(f"/api/v1/workers/{worker_id}").headers["etag"]
            patched = api.patch(
                f"/api/v1/workers/{worker_id}",
                json={
                    "health_check": {
                        "date": (today - timedelta(days=370)).isoformat(),
                        "institution": "肇庆市第一人民医院",
                        "valid_until": valid_until,
                    }
                },
                headers={"If-Match": etag},
            )
            assert patched.status_code == 200, patched.text

        # The health check lapses: red, and the suspension bit is set in the published list.
        patch_health((today - timedelta(days=1)).isoformat())
        assert poll(lambda: card("red"))["state"] == "suspended"
        assert (
            httpx.get(f"{gateway}/api/v1/verifications/cards/{code}", timeout=10).json()["colour"]
            == "red"
        )
        verdict = stranger_verifies(credential, gateway)
        assert verdict.authentic and verdict.suspended is True
        assert scan(browser, scan_url)[1:3] == ("red", "无效（已暂停、吊销或过期）")

        # Renewed check: green, and the bit is clear again.
        patch_health((today + timedelta(days=365)).isoformat())
        assert poll(lambda: card("green"))["state"] == "active"
        assert stranger_verifies(credential, gateway).valid
        assert scan(browser, scan_url)[1] == "green"

        coverage = api.get("/api/v1/cards/coverage").json()
        assert {
            "county": "gaoyao",
            "active_workers": 1,
            "card_holders": 1,
            "coverage": 1.0,
        } in coverage
