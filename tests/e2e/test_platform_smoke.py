"""The platform starts, every process answers /readyz, and stopping it leaves no process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from devtools.ports import port_accepts
from devtools.run import Platform
from services.kit.settings import SERVICES

pytestmark = pytest.mark.e2e


def _gone(pid: int) -> bool:
    """True if neither the process nor anything in its process group is left."""
    for probe in (os.kill, os.killpg):
        try:
            probe(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


def test_every_process_is_ready(platform: Platform) -> None:
    urls = {"gateway": platform.gateway_url, **platform.service_urls}
    assert set(urls) == {"gateway", *SERVICES}
    with httpx.Client(timeout=5) as client:
        for name, url in urls.items():
            for path in ("/readyz", "/healthz"):
                response = client.get(f"{url}{path}")
                assert response.status_code == 200, (name, path, response.text)
    assert set(platform.pids()) == {"nats", "gateway", *SERVICES}
    assert platform.dead() == []


def test_stop_leaves_no_child_process(
    platform_factory: Callable[[Path], Platform], tmp_path: Path
) -> None:
    platform = platform_factory(tmp_path / "var")
    pids = platform.pids()
    assert set(pids) == {"nats", "gateway", *SERVICES}
    ports = [platform.config.port(name) for name in ("gateway", *SERVICES)]
    platform.stop()
    left = {name: pid for name, pid in pids.items() if not _gone(pid)}
    assert left == {}, f"still running after stop: {left}"
    assert platform.pids() == {}
    assert not any(port_accepts("127.0.0.1", port) for port in ports)
    assert not port_accepts("127.0.0.1", platform.config.nats_port)
