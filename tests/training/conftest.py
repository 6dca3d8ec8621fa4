"""Fixtures for the training tests: the app on a real database and a private nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.nats import NatsServer
from services.training.app import create_app
from tests.support.apps import running_app, settings_for
from tests.support.databases import service_database
from tests.training.training_support import JetStreamPeer, Training


@pytest.fixture
async def training(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Training]:
    with service_database("training", backend, tmp_path) as url:
        settings, platform = settings_for("training", url, nats_server.url)
        app = create_app(settings, platform)
        async with JetStreamPeer(nats_server.url) as peer, running_app(app) as client:
            yield Training(app, client, peer)
