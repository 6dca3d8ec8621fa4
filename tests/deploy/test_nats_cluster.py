"""The production NATS configuration (deploy/nats/nats-server.conf with the generated
accounts.conf) as a 3-node JetStream cluster on loopback: the addresses are given on the command
line, the JetStream store directory is the one line rewritten (the three nodes share a machine),
and the environment is what the StatefulSet passes (server name, passwords, routes). A service
connects as its own user through the kit's Bus with R3 streams, the stream leader is killed
with SIGKILL mid-run, and the stream ends with every event exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.nats import find_nats_server, server_info
from devtools.nats_auth import DEPLOY_ACCOUNTS
from devtools.ports import free_ports
from services.kit.bus import Bus
from services.kit.settings import SERVICES

CONFIG = DEPLOY_ACCOUNTS.parent / "nats-server.conf"
NODES = 3
PASSWORDS = {service: f"{service}-pw-{os.getpid()}" for service in SERVICES}


@dataclass
class Node:
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    store: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


def _env(node: Node, nodes: list[Node]) -> dict[str, str]:
    """What the StatefulSet gives each pod (devtools.k8s_stateful.nats), routes on loopback."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NATS_SERVER_NAME": node.name,
        "NATS_ROUTE_PASSWORD": "route-secret",
        "NATS_SYS_PASSWORD": "sys-secret",
    }
    for service, password in PASSWORDS.items():
        env[f"{service.upper()}_NATS_PASSWORD"] = password
    for index, other in enumerate(nodes):
        env[f"NATS_ROUTE_{index}"] = f"nats://route:route-secret@127.0.0.1:{other.cluster_port}"
    return env


def _config(node: Node) -> Path:
    """The production config with only its store directory moved under the node's tmp dir."""
    text = CONFIG.read_text(encoding="utf-8")
    production_store = "store_dir: /data/jetstream"
    assert text.count(production_store) == 1
    folder = node.store.parent / f"{node.name}-config"
    folder.mkdir()
    (folder / "accounts.conf").write_bytes(DEPLOY_ACCOUNTS.read_bytes())
    config = folder / "nats-server.conf"
    config.write_text(text.replace(production_store, f'store_dir: "{node.store}"'), "utf-8")
    return config


def _start(node: Node, nodes: list[Node]) -> None:
    argv = [
        find_nats_server(),
        "--config",
        str(_config(node)),
        "--addr",
        "127.0.0.1",
        "--port",
        str(node.client_port),
        "--http_port",
        str(node.monitor_port),
        "--cluster",
        f"nats://127.0.0.1:{node.cluster_port}",
    ]
    with node.log.open("ab") as log:
        node.process = subprocess.Popen(argv, env=_env(node, nodes), stdout=log, stderr=log)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Node]]:
    ports = free_ports(3 * NODES)
    nodes = [
        Node(
            f"nats-{i}",
            ports[3 * i],
            ports[3 * i + 1],
            ports[3 * i + 2],
            tmp_path / f"store-{i}",
            tmp_path / f"nats-{i}.log",
        )
        for i in range(NODES)
    ]
    try:
        for node in nodes:
            _start(node, nodes)
        deadline = time.monotonic() + 20
        while not all(server_info("127.0.0.1", n.client_port) for n in nodes):
            for node in nodes:
                assert node.process and node.process.poll() is None, node.log.read_text()
            assert time.monotonic() < deadline, "the nodes did not start"
            time.sleep(0.1)
        yield nodes
    finally:
        for node in nodes:
            if node.process and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in nodes:
            if node.process:
                try:
                    node.process.wait(10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()


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
        assert leader.process is not None
        os.kill(leader.process.pid, signal.SIGKILL)
        leader.process.wait(5)
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
    assert all(n.process and n.process.poll() is None for n in survivors)
