"""Fixtures for the rating tests: the app on a real database and NATS, and an event publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from contracts.catalog import stream_for
from contracts.envelope import CloudEvent, EventData, envelope_for
from devtools.nats import NatsServer
from services.rating.app import create_app
from tests.rating.rating_support import Publish, RatingHarness, ensure_stream
from tests.support.apps import running_app, settings_for
from tests.support.databases import service_database


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


@pytest.fixture
def publish(js: JetStreamContext) -> Publish:
    """Publish an event as its producer's relay would: an envelope, Nats-Msg-Id = event id."""

    async def _publish(data: EventData) -> CloudEvent[Any]:
        envelope = envelope_for(data)
        await ensure_stream(js, stream_for(data.subject))
        await js.publish(
            data.subject,
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": envelope.id},
        )
        return envelope

    return _publish


@pytest.fixture
async def rating(
    backend: str, nats_server: NatsServer, tmp_path: Path, js: JetStreamContext, publish: Publish
) -> AsyncIterator[RatingHarness]:
    with service_database("rating", backend, tmp_path) as url:
        settings, platform = settings_for("rating", url, nats_server.url)
        app = create_app(settings, platform)
        async with running_app(app) as client:
            yield RatingHarness(app, client, js, publish)
