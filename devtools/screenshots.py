"""``make screenshots``: start the platform on free ports (its own var dir), seed a little data
(devtools.web_seed), and write a PNG of each web page at a desktop and a phone width into
``var/screenshots/`` with Playwright driving Debian's chromium.

    python -m devtools.screenshots [--out var/screenshots] [--lang zh-CN]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from devtools.platform_config import PROJECT_ROOT
from devtools.run import Platform, PlatformConfig
from devtools.web_seed import Seeded, seed

WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}


def pages(seeded: Seeded) -> list[tuple[str, str]]:
    """(name, path) of every page; the dashboard ones need the officer's session."""
    listed = [
        ("home", "/"),
        ("cases", "/cases"),
        ("model-workers", "/model-workers"),
        ("case", f"/cases/{seeded.case_id}"),
        ("nominate", "/nominate"),
        ("skill-masters", "/skill-masters"),
        ("redlist", "/redlist"),
        ("top-companies", "/top-companies"),
        ("counties", "/counties"),
        ("card-check", "/card-check"),
        ("login", "/login"),
    ]
    if seeded.card_code:
        listed.append(("verify", f"/verify/{seeded.card_code}"))
    listed += [
        ("dashboard", "/dashboard"),
        ("dashboard-sihui", "/dashboard?county=sihui"),
    ]
    return listed


def shoot(browser: Browser, gateway: str, seeded: Seeded, out: Path, lang: str) -> list[Path]:
    written: list[Path] = []
    for width_name, (width, height) in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height}, locale=lang)
        page = context.new_page()
        page.set_default_timeout(15_000)
        signed_in = False
        for name, path in pages(seeded):
            if name.startswith("dashboard") and not signed_in:
                page.goto(f"{gateway}/login?lang={lang}")
                page.fill("#phone", seeded.officer_phone)
                page.fill("#password", seeded.officer_password)
                page.click("form.form button[type=submit]")
                page.wait_for_url(f"{gateway}/dashboard")
                signed_in = True
            separator = "&" if "?" in path else "?"
            page.goto(f"{gateway}{path}{separator}lang={lang}")
            if name.startswith("dashboard"):
                page.wait_for_load_state("networkidle")
            target = out / f"{name}-{width_name}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
        context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "screenshots")
    parser.add_argument("--lang", default="zh-CN", choices=("zh-CN", "zh-HK", "en"))
    args = parser.parse_args(argv)
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jiasao-screenshots-") as var_dir:
        platform = Platform(PlatformConfig.with_free_ports(Path(var_dir)))
        platform.start()
        try:
            seeded = seed(platform.gateway_url, Path(var_dir))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=executable, args=["--no-sandbox"]
                )
                try:
                    written = shoot(browser, platform.gateway_url, seeded, args.out, args.lang)
                finally:
                    browser.close()
        finally:
            platform.stop()
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
