"""TCP port helpers for the supervisor and the tests."""

from __future__ import annotations

import os
import random
import socket
import time
from pathlib import Path

LOCALHOST = "127.0.0.1"


#: Where listening ports are picked: below the kernel's ephemeral range, so an outgoing
#: connection (a NATS client, a database pool, httpx) can never take a picked port before its
#: server binds it. The kernel's own pick (port 0) comes from that very range: in the CI run
#: a platform lost that race and one test errored.
LISTEN_PORTS_FLOOR = 10000
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: xdist workers take disjoint slices, so two workers never pick the same port.
WORKER_SLICES = 16

_handed_out: set[int] = set()


def _ephemeral_floor() -> int:
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default floor


def _listen_ports() -> range:
    """This process's candidate ports: a slice of [floor, ephemeral floor), one per xdist
    worker (the whole range outside pytest-xdist); empty if the kernel leaves no room."""
    ports = range(LISTEN_PORTS_FLOOR, _ephemeral_floor())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not worker[2:].isdigit():
        return ports
    size = len(ports) // WORKER_SLICES
    start = ports.start + (int(worker[2:]) % WORKER_SLICES) * size
    return range(start, start + size)


def _bindable(sock: socket.socket, host: str, port: int) -> bool:
    try:
        sock.bind((host, port))
    except OSError:
        return False
    return True


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """``count`` distinct ports nothing is bound to right now, none handed out before by this
    process, picked outside the ephemeral range (see LISTEN_PORTS_FLOOR). The sockets are held
    open together while picking, so none is picked twice."""
    candidates = [p for p in _listen_ports() if p not in _handed_out]
    random.shuffle(candidates)
    socks: list[socket.socket] = []
    picked: list[int] = []
    try:
        for port in candidates:
            if len(picked) == count:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            if _bindable(sock, host, port):
                picked.append(port)
        while len(picked) < count:  # no room below the ephemeral range: the kernel's pick
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((host, 0))
            picked.append(int(sock.getsockname()[1]))
    finally:
        for sock in socks:
            sock.close()
    _handed_out.update(picked)
    return picked


def free_port(host: str = LOCALHOST) -> int:
    """A port nothing is bound to right now (see free_ports)."""
    return free_ports(1, host)[0]


def connect_host(host: str) -> str:
    """The address to connect to for a server bound to ``host`` (wildcards mean loopback)."""
    return LOCALHOST if host in ("", "0.0.0.0", "::", "[::]") else host


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((connect_host(host), port), timeout=timeout):
            return True
    except OSError:
        return False


def port_is_free(host: str, port: int) -> bool:
    """True if ``port`` can be bound on ``host`` and nobody answers on it."""
    if port_accepts(host, port, timeout=0.2):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Poll until ``host:port`` accepts connections; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if port_accepts(host, port):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
