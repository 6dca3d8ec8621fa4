"""The whole platform in subprocesses for the e2e tests: gateway, five services and a private
nats-server, all on free ports, with a temporary var dir (databases, JetStream store, logs).

``platform`` is a :class:`devtools.run.Platform`: ``platform.gateway_url``,
``platform.service_urls["registry"]`` (or ``platform.url("registry")``), ``platform.nats_url``,
``platform.nats`` (the :class:`devtools.nats.NatsServer`, for fault tests), ``platform.pids()``.
``platform_factory(var_dir)`` starts a separate one for tests that stop or break it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.run import Platform, PlatformConfig, PlatformError


def show(config: pytest.Config, text: str) -> None:
    """Print past pytest's output capture (log tails must be seen when things go wrong)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    disabled = capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()
    with disabled:
        print(text, flush=True)


def start_platform(config: pytest.Config, var_dir: Path) -> Platform:
    """Start a platform on free ports under ``var_dir``; on failure show the log tails."""
    platform = Platform(PlatformConfig.with_free_ports(var_dir))
    try:
        platform.start()
    except PlatformError as exc:
        error = str(exc)
    else:
        return platform
    show(config, f"\nthe platform failed to start; log tails:\n{platform.log_tails()}")
    pytest.fail(f"the platform failed to start: {error}", pytrace=False)


@pytest.fixture
def platform_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[Path], Platform]]:
    """Start extra platforms (e.g. to stop or break them); any left running stop at teardown."""
    started: list[Platform] = []

    def factory(var_dir: Path) -> Platform:
        started.append(start_platform(request.config, var_dir))
        return started[-1]

    yield factory
    for platform in started:
        platform.stop()


@pytest.fixture(scope="session")
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    platform = start_platform(request.config, tmp_path_factory.mktemp("platform"))
    failed_before = request.session.testsfailed
    try:
        yield platform
    finally:
        platform.stop()
        if request.session.testsfailed > failed_before:
            show(request.config, f"\ne2e tests failed; platform log tails:\n{platform.log_tails()}")
