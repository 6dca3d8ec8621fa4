"""``make demo`` (issue 12): the demo seeds a running platform through the gateway alone, and
what it created is visible through the API — to the public (brand pages) and to the staff."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devtools.demo_data import COUNTIES
from devtools.run import Platform

pytestmark = pytest.mark.e2e


def poll(probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout}s: {last!r}")


def test_demo_seeds_a_running_platform(platform: Platform) -> None:
    """On the session's platform (other tests' data may be there too: counts are at least)."""
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.demo",
            "--gateway",
            platform.gateway_url,
            "--var-dir",
            str(platform.config.var_dir),
            "--workers",
            "200",
        ],
        capture_output=True,
        text=True,
        env=platform.child_env(),
        timeout=240,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "[demo] done" in demo.stdout and "200  workers" in demo.stdout, demo.stdout
    # The dev admin's password is kept only in the var dir, readable by its owner alone.
    secrets_file = platform.config.var_dir / "secrets" / "demo_admin.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    credentials = json.loads(secrets_file.read_text())

    with httpx.Client(base_url=platform.gateway_url, timeout=20) as public:
        cases = public.get("/api/v1/brand/cases").json()["items"]
        assert len(cases) == 5 and all(c["has_photo"] for c in cases)
        photo = public.get(cases[0]["photo_url"], headers={"Accept": "image/*"})
        assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")
        counties = public.get("/api/v1/brand/counties").json()["items"]
        assert sorted(c["county"] for c in counties) == sorted(COUNTIES)
        assert len(public.get("/api/v1/brand/top-companies").json()["items"]) == 10
        roll = poll(lambda: public.get("/api/v1/brand/skill-masters").json()["items"])
        assert len(roll) >= 3 and all(r["name"] and "*" in r["name"] for r in roll)
        assert len(public.get("/api/v1/training-bases").json()["items"]) >= 6
        assert len(public.get("/api/v1/courses", params={"limit": 200}).json()["items"]) >= 5

        login = public.post(
            "/api/v1/auth/login",
            json={"phone": credentials["admin_phone"], "password": credentials["admin_password"]},
        )
        assert login.status_code == 200, login.text
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for county in COUNTIES:  # workers in every county
            listed = public.get("/api/v1/workers", params={"county": county}, headers=admin)
            assert len(listed.json()["items"]) >= 25, county
        for path in (
            "/api/v1/jobs",
            "/api/v1/fairs",
            "/api/v1/engagements",
            "/api/v1/subsidies",
            "/api/v1/credit-complaints",
            "/api/v1/ratings",
            "/api/v1/brand/nominations",
        ):
            response = public.get(path, headers=admin)
            assert response.status_code == 200 and response.json()["items"], path
        # Completions became certificates, and workers meeting every condition got a card.
        assert public.get("/api/v1/certificates", headers=admin).json()["items"]
        # A card comes with its free accident insurance.
        assert poll(lambda: public.get("/api/v1/insurance/policies", headers=admin).json()["items"])
