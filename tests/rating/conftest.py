"""Fixtures for the rating tests: the app on a real database and NATS, and a registry peer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devtools.nats import NatsServer
from services.rating.app import create_app
from services.rating.schemas import current_year
from tests.rating.rating_support import YEAR, RatingHarness
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
            harness = RatingHarness(app, client, peer)
            # Scores are taken only for open assessment years (issue 11); the tests score the
            # current year and the one before.
            for year in sorted({YEAR - 1, YEAR, current_year()}):
                await harness.open_year(year)
            yield harness
