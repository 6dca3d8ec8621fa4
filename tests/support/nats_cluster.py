"""Three nats-server nodes on loopback as one JetStream cluster, configured as in production.

The production configuration (deploy/nats/nats-server.conf with the generated accounts.conf)
is used as it is: the addresses are given on the command line, the JetStream store directory is
the one line rewritten (the three nodes share a machine), and the environment is what the
StatefulSet passes (server name, passwords, routes). Each service connects as its own user with
the password in :data:`PASSWORDS`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools.nats import find_nats_server, server_info
from devtools.nats_auth import DEPLOY_ACCOUNTS
from devtools.ports import free_ports
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

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crashed pod."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(5)


def cluster_url(nodes: list[Node]) -> str:
    """Every node's address, as a client's server list (``JIASAO_NATS_URL``)."""
    return ",".join(node.url for node in nodes)


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
    folder.mkdir(parents=True, exist_ok=True)
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


@contextmanager
def nats_cluster(folder: Path) -> Iterator[list[Node]]:
    """Start the three nodes under ``folder``; yields them once all greet clients."""
    ports = free_ports(3 * NODES)
    nodes = [
        Node(
            f"nats-{i}",
            ports[3 * i],
            ports[3 * i + 1],
            ports[3 * i + 2],
            folder / f"store-{i}",
            folder / f"nats-{i}.log",
        )
        for i in range(NODES)
    ]
    try:
        for node in nodes:
            _start(node, nodes)
        deadline = time.monotonic() + 20
        while not all(server_info("127.0.0.1", n.client_port) for n in nodes):
            for node in nodes:
                assert node.alive, node.log.read_text()
            assert time.monotonic() < deadline, "the nodes did not start"
            time.sleep(0.1)
        yield nodes
    finally:
        for node in nodes:
            if node.alive:
                assert node.process is not None
                node.process.send_signal(signal.SIGTERM)
        for node in nodes:
            if node.process:
                try:
                    node.process.wait(10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
