"""A process killed after commit and before publish still gets its event out, once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from devtools.nats import NatsServer
from services.kit.db import Database
from services.kit.outbox import Relay
from tests.kit.kit_harness import pending_outbox, rating_bus, stream_messages
from tests.support.apps import eventually

ROOT = Path(__file__).resolve().parents[2]


async def test_event_committed_by_a_killed_process_is_published_once_after_restart(
    db: Database, nats_server: NatsServer
) -> None:
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.kit.crash_writer",
        db.url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    stdout, stderr = await asyncio.wait_for(writer.communicate(), 60)
    assert writer.returncode == -signal.SIGKILL, stderr.decode()
    event_id = stdout.decode().strip()
    assert await pending_outbox(db) == 1

    bus = rating_bus(nats_server.url)
    await bus.start()
    await bus.wait_connected(10)
    relays = [Relay(db, bus, poll_interval=0.05) for _ in range(2)]  # the restart, twice over
    for relay in relays:
        await relay.start()
    try:
        messages = await eventually(lambda: stream_messages(nats_server.url))
        await eventually(lambda: _is_zero(db))
        for relay in relays:
            await relay.stop()
        assert [m.headers["Nats-Msg-Id"] for m in await stream_messages(nats_server.url)] == [
            event_id
        ]
        assert len(messages) == 1
    finally:
        for relay in relays:
            await relay.stop()
        await bus.close()


async def _is_zero(db: Database) -> bool:
    return await pending_outbox(db) == 0
