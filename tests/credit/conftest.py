"""Fixtures for the credit tests: the app on a real database and a private nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.nats import NatsServer
from services.credit.app import create_app
from tests.credit.credit_support import Credit, JetStreamPeer
from tests.support.apps import running_app, settings_for
from tests.support.databases import service_database


@pytest.fixture
async def credit(backend: str, tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Credit]:
    with service_database("credit", backend, tmp_path) as url:
        settings, platform = settings_for("credit", url, nats_server.url)
        app = create_app(settings, platform)
        async with JetStreamPeer(nats_server.url) as peer, running_app(app) as client:
            yield Credit(app, client, peer)
