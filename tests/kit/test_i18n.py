"""Accept-Language negotiation and translated problem titles."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.nats import NatsServer
from services.kit.i18n import negotiate
from tests.kit.test_app import make_app
from tests.support.apps import running_app


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-HK", "zh-HK"),
        ("zh-TW,zh;q=0.8", "zh-HK"),
        ("fr-FR, en;q=0.5", "en"),
        ("fr-FR", "zh-CN"),
        ("en;q=0.3, zh-HK;q=0.9", "zh-HK"),
        ("en;q=0", "zh-CN"),
        ("en;q=abc", "zh-CN"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


async def test_problem_titles_follow_accept_language(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", nats_server.url)
    async with running_app(app) as client:
        default = await client.get("/api/v1/nowhere")
        assert default.json()["title"] == "未找到"
        assert default.headers["content-language"] == "zh-CN"
        hk = await client.get("/api/v1/nowhere", headers={"Accept-Language": "zh-HK"})
        assert hk.json()["title"] == "找不到"
        english = await client.get("/api/v1/nowhere", headers={"Accept-Language": "en"})
        assert english.json()["title"] == "Not found"
        assert english.headers["content-language"] == "en"
        # The type is the stable identifier whatever the language.
        assert default.json()["type"] == hk.json()["type"] == english.json()["type"]
