"""The registry app most registry tests run against: on a real database (each backend) with a
private nats-server. A test module that needs other settings defines its own ``registry``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.nats import NatsServer
from tests.registry.test_parties_support import Registry, running_registry


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with running_registry(backend, tmp_path, nats_server.url) as registry:
        yield registry
