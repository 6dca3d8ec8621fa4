"""One platform for the contract tests (client generation, schemathesis): started once, on free
ports, without rate limits; its log tails are shown if a test here failed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.run import Platform, PlatformError
from tests.openapi.platform_api import start_platform


@pytest.fixture(scope="session")
def contract_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    try:
        platform = start_platform(tmp_path_factory.mktemp("contract-platform"))
    except PlatformError as exc:
        pytest.fail(f"the platform failed to start: {exc}", pytrace=False)
    failed_before = request.session.testsfailed
    try:
        yield platform
    finally:
        platform.stop()
        if request.session.testsfailed > failed_before:
            print(f"\nplatform log tails:\n{platform.log_tails(lines=15)}")
