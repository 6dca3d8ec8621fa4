"""The production NATS configuration as a 3-node JetStream cluster on loopback
(tests.support.nats_cluster): a service connects as its own user through the kit's Bus with R3
streams, the stream leader is killed with SIGKILL mid-run, and the stream ends with every event
exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.kit.bus import Bus
from tests.support.nats_cluster import PASSWORDS, Node, nats_cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Node]]:
    with nats_cluster(tmp_path) as nodes:
        yield nodes


async def _publish(bus: Bus, index: int) -> None:
    """Publish event ``index`` until acknowledged, as the outbox relay does (same msg id)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await bus.publish(f"training.test.happened.{index % 4}", b"{}", msg_id=f"ev-{index}")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_r3_stream_keeps_every_event_once_when_its_leader_is_killed(
    cluster: list[Node],
) -> None:
    bus = Bus(
        cluster[0].url,
        name="training",
        streams={"TRAINING": ["training.>"]},
        replicas=3,
        timeout=2.0,
        user="training",
        password=PASSWORDS["training"],
    )
    await bus.start()
    try:
        await bus.wait_connected(30)
        info = await bus.js.stream_info("TRAINING")
        assert info.config.num_replicas == 3
        for index in range(40):
            await _publish(bus, index)
        info = await bus.js.stream_info("TRAINING")
        assert info.cluster is not None and info.cluster.leader
        assert len(info.cluster.replicas or []) == 2  # the two followers
        leader = next(n for n in cluster if n.name == info.cluster.leader)
        leader.kill()
        for index in range(40, 80):
            await _publish(bus, index)
        for index in range(30, 50):  # redelivered by a relay that crashed before marking sent
            await _publish(bus, index)
        info = await bus.js.stream_info("TRAINING")
        assert info.cluster is not None and info.cluster.leader != leader.name
        assert (info.state.messages, info.state.first_seq, info.state.last_seq) == (80, 1, 80)
    finally:
        await bus.close()
    survivors = [n for n in cluster if n is not leader]
    assert all(n.alive for n in survivors)
