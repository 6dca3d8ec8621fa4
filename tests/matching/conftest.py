"""Fixtures for the matching tests: the app on a real database and NATS, or just its database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest

from devtools.nats import NatsServer
from services.kit.db import Database
from services.matching.app import create_app
from tests.matching.matching_support import MatchingHarness
from tests.support.apps import running_app, settings_for
from tests.support.databases import service_database


@pytest.fixture
async def matching(
    backend: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[MatchingHarness]:
    nc = await nats.connect(nats_server.url)
    try:
        with service_database("matching", backend, tmp_path) as url:
            settings, platform = settings_for("matching", url, nats_server.url)
            # Short webhook retry delays: a refused delivery is retried within the test. The job
            # expiry sweep runs at start only: tests call it themselves (app.expire_jobs).
            app = create_app(
                settings, platform, webhook_retry_delays=(0.1, 0.2, 0.4), job_sweep_seconds=3600
            )
            async with running_app(app) as client:
                yield MatchingHarness(app, client, nc.jetstream())
    finally:
        await nc.close()


@pytest.fixture
async def matching_db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """Matching's migrated database alone, for the read-model rules without the bus."""
    with service_database("matching", backend, tmp_path) as url:
        db = Database(url)
        try:
            yield db
        finally:
            await db.dispose()
