"""Listening ports for test platforms come from below the kernel's ephemeral range, so an
outgoing connection cannot take one between the pick and the server's bind, and xdist workers
pick from disjoint slices."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devtools import ports


def test_picked_ports_lie_below_the_ephemeral_range_and_are_never_handed_out_twice() -> None:
    floor = ports._ephemeral_floor()
    picked = ports.free_ports(20) + [ports.free_port() for _ in range(20)]
    assert len(set(picked)) == 40
    assert all(ports.LISTEN_PORTS_FLOOR <= port < floor for port in picked)


def test_a_port_someone_holds_is_not_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind((ports.LOCALHOST, 0))
        held.listen()
        port = held.getsockname()[1]
        # the held port is the only candidate: the pick must fall back to the kernel's
        monkeypatch.setattr(ports, "LISTEN_PORTS_FLOOR", port)
        monkeypatch.setattr(ports, "_ephemeral_floor", lambda: port + 1)
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
        assert list(ports._listen_ports()) == [port]
        assert ports.free_ports(1) != [port]


def test_xdist_workers_pick_from_disjoint_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    slices = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        slices.append(set(ports._listen_ports()))
    assert all(len(s) > 1000 for s in slices)
    assert not slices[0] & slices[1] and not slices[1] & slices[2] and not slices[0] & slices[2]


def test_without_room_below_the_ephemeral_range_the_kernel_picks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    range_file = tmp_path / "ip_local_port_range"
    range_file.write_text("1024\t65535\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", range_file)
    assert ports._ephemeral_floor() == 1024
    assert len(ports._listen_ports()) == 0
    picked = ports.free_ports(3)
    assert len(set(picked)) == 3 and all(port >= 1024 for port in picked)
