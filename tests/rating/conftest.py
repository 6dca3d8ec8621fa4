"""Fixtures for the rating tests: the app on a real database and NATS, and a registry peer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.nats import NatsServer
from services.rating.app import create_app
from tests.rating.rating_support import RatingHarness
from tests.support.apps import running_app, settings_for
from tests.support.databases import service_database
from tests.support.jetstream import JetStreamPeer


@pytest.fixture
async def rating(
    backend: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[RatingHarness]:
    with service_database("rating", backend, tmp_path) as url:
        settings, platform = settings_for("rating", url, nats_server.url)
        app = create_app(settings, platform)
        async with JetStreamPeer(nats_server.url) as peer, running_app(app) as client:
            yield RatingHarness(app, client, peer)
