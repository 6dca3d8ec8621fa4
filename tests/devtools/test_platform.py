"""devtools.platform.Platform on stand-in services: a tiny HTTP server per process, in a
throwaway project directory, so the supervisor is tested apart from the real services."""

from __future__ import annotations

import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from devtools.platform import Platform
from devtools.platform_config import GATEWAY, NAMES, PlatformConfig, PlatformError
from devtools.ports import port_accepts
from services.kit.settings import SERVICES

STUB = textwrap.dedent(
    """
    import os, signal, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    def main(name):
        def behaves(what):
            return os.environ.get("STUB_" + what) == name

        def note(text):
            print(f"{time.time():.6f} {name} {text}", flush=True)

        if sys.argv[1] == "migrate":
            note("migrate")
            sys.exit(3 if behaves("FAIL_MIGRATE") else 0)
        started = time.monotonic()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                ready = time.monotonic() - started > 0.3 and not behaves("NEVER_READY")
                self.send_response(200 if ready or self.path == "/healthz" else 503)
                self.end_headers()

            def log_message(self, *args):
                pass

        def on_term(*_):
            note("sigterm")
            if name == "gateway":
                time.sleep(0.3)  # services must still be up while the gateway drains
            note("exit")
            os._exit(0)

        signal.signal(signal.SIGTERM, on_term)
        host, port = os.environ[name.upper() + "_HOST"], int(os.environ[name.upper() + "_PORT"])
        server = ThreadingHTTPServer((host, port), Handler)
        note("env " + os.environ["JIASAO_NATS_URL"] + " " + os.environ["GATEWAY_REGISTRY_URL"])
        if behaves("CRASH"):
            import threading
            threading.Thread(target=server.serve_forever, daemon=True).start()
            time.sleep(1.5)
            os._exit(7)
        server.serve_forever()
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory where ``python -m services.<name>`` and ``python -m gateway`` are stubs."""
    root = tmp_path / "project"
    (root / "services").mkdir(parents=True)
    (root / "services" / "__init__.py").write_text("")
    (root / "stub.py").write_text(STUB)
    for name in NAMES:
        package = root / "gateway" if name == "gateway" else root / "services" / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "__main__.py").write_text(f"from stub import main\nmain({name!r})\n")
    return root


def _config(project: Path, tmp_path: Path, **env: str) -> PlatformConfig:
    return PlatformConfig.with_free_ports(
        tmp_path / "var", cwd=project, env=env, ready_timeout=10, stop_timeout=5
    )


def _events(platform: Platform, name: str) -> dict[str, float]:
    text = platform.log_path(name).read_text()
    return {line.split()[2]: float(line.split()[0]) for line in text.splitlines() if line}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_starts_everything_and_stops_gateway_first(project: Path, tmp_path: Path) -> None:
    platform = Platform(_config(project, tmp_path))
    platform.start()
    try:
        pids = platform.pids()
        assert set(pids) == {"nats", *NAMES}
        assert platform.gateway_url == f"http://127.0.0.1:{platform.config.port('gateway')}"
        assert set(platform.service_urls) == set(SERVICES)
        env_line = platform.log_path("gateway").read_text().splitlines()[-1]
        assert platform.nats_url in env_line
        assert platform.url("registry") in env_line
        assert (platform.var_dir / "secrets" / "pii_keys.json").is_file()
        assert (platform.var_dir / "nats" / "jetstream").is_dir()
        assert platform.dead() == []
    finally:
        platform.stop()
    assert all(_gone(pid) for pid in pids.values())
    assert platform.pids() == {}
    gateway_exit = _events(platform, "gateway")["exit"]
    for name in SERVICES:
        events = _events(platform, name)
        assert events["migrate"] < events["env"]
        assert events["sigterm"] >= gateway_exit, f"{name} stopped before the gateway"
    assert not port_accepts("127.0.0.1", platform.config.nats_port)


def test_failed_migration_stops_everything_and_shows_the_log(project: Path, tmp_path: Path) -> None:
    platform = Platform(_config(project, tmp_path, STUB_FAIL_MIGRATE="credit"))
    with pytest.raises(PlatformError, match=r"migrating credit failed \(exit code 3\)") as err:
        platform.start()
    assert "credit migrate" in str(err.value)
    assert platform.pids() == {}
    assert "registry" not in platform.processes  # nothing served before migrations passed


def test_readiness_timeout_names_the_laggard(project: Path, tmp_path: Path) -> None:
    config = _config(project, tmp_path, STUB_NEVER_READY="rating")
    config.ready_timeout = 2
    platform = Platform(config)
    with pytest.raises(PlatformError, match=r"not ready after 2s: rating") as err:
        platform.start()
    assert "rating env" in str(err.value)
    assert platform.pids() == {}


def test_wait_reports_a_child_that_dies(project: Path, tmp_path: Path) -> None:
    platform = Platform(_config(project, tmp_path, STUB_CRASH="training"))
    platform.start()
    try:
        started = time.monotonic()
        dead = platform.wait(interval=0.1)
        assert dead is not None
        assert (dead.name, dead.returncode) == ("training", 7)
        assert time.monotonic() - started < 5
    finally:
        platform.stop()
    assert platform.pids() == {}


def test_busy_nats_port_fails_before_starting_anything(project: Path, tmp_path: Path) -> None:
    with Platform(_config(project, tmp_path)) as first:
        config = _config(project, tmp_path / "second")
        config.nats_port = first.config.nats_port
        second = Platform(config)
        with pytest.raises(PlatformError, match=r"JIASAO_NATS_PORT.*JIASAO_NATS_URL"):
            second.start()
        assert second.nats is None
        assert second.processes == {}


def test_external_nats_url_starts_no_server(project: Path, tmp_path: Path) -> None:
    with Platform(_config(project, tmp_path)) as first:
        config = _config(project, tmp_path / "second")
        config.nats_url = first.nats_url
        with Platform(config) as second:
            assert second.nats is None
            assert set(second.pids()) == set(NAMES)
            assert first.nats_url in second.log_path("gateway").read_text()


def test_from_env_reads_ports_hosts_and_nats() -> None:
    config = PlatformConfig.from_env(
        {
            "JIASAO_VAR_DIR": "/tmp/x",
            "JIASAO_NATS_PORT": "4333",
            "GATEWAY_PORT": "9000",
            "GATEWAY_HOST": "0.0.0.0",
            "CREDIT_PORT": "9003",
        }
    )
    assert config.var_dir == Path("/tmp/x")
    assert config.nats_port == 4333
    assert config.nats_url is None
    assert config.port("gateway") == 9000
    assert config.port("credit") == 9003
    assert config.port("registry") == 8001
    assert config.host("gateway") == "0.0.0.0"
    assert Platform(config).gateway_url == "http://127.0.0.1:9000"


def test_restart_one_child_after_a_crash(project: Path, tmp_path: Path) -> None:
    with Platform(_config(project, tmp_path)) as platform:
        before = platform.pids()
        platform.restart("credit", crash=True)
        platform.restart("nats", crash=True)
        after = platform.pids()
        assert set(after) == set(before)
        assert after["credit"] != before["credit"]
        assert after["nats"] != before["nats"]
        assert after["registry"] == before["registry"]
        assert platform.dead() == []
    assert platform.pids() == {}


def _occupy(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_taken_default_ports_are_replaced_and_passed_on(project: Path, tmp_path: Path) -> None:
    """As on a machine where another NATS holds 4222: defaults give way, explicit ports not."""
    config = _config(project, tmp_path)
    config.explicit = {"training", "credit", "rating", "matching"}  # the rest are "defaults"
    busy = {name: config.port(name) for name in ("registry", GATEWAY)}
    busy["nats"] = config.nats_port
    holders = [_occupy(port) for port in busy.values()]
    try:
        platform = Platform(config)
        notes = platform.choose_ports()
        assert len(notes) == 3
        assert any(f"port {busy['nats']} is taken" in n and "nats-server" in n for n in notes)
        with platform:
            moved = {"registry": config.port("registry"), GATEWAY: config.port(GATEWAY)}
            moved["nats"] = config.nats_port
            assert all(moved[name] != busy[name] for name in busy)
            assert platform.gateway_url == f"http://127.0.0.1:{moved[GATEWAY]}"
            assert platform.nats_url == f"nats://127.0.0.1:{moved['nats']}"
            # The gateway was told where the moved registry and nats-server are.
            env_line = platform.log_path(GATEWAY).read_text().splitlines()[-1]
            assert f"nats://127.0.0.1:{moved['nats']} http://127.0.0.1:{moved['registry']}" in (
                env_line
            )
            assert port_accepts("127.0.0.1", moved["registry"])
            assert platform.choose_ports() == []  # chosen once
    finally:
        for sock in holders:
            sock.close()
    assert platform.pids() == {}


def test_taken_explicit_service_port_is_an_error(project: Path, tmp_path: Path) -> None:
    config = _config(project, tmp_path)
    with _occupy(config.port("credit")):
        platform = Platform(config)
        assert platform.choose_ports() == []
        with pytest.raises(PlatformError, match=r"for credit on 127.0.0.1 .*set CREDIT_PORT"):
            platform.start()
    assert platform.processes == {}


def test_from_env_marks_explicit_ports() -> None:
    config = PlatformConfig.from_env({"JIASAO_NATS_PORT": "4333", "CREDIT_PORT": "9003"})
    assert config.explicit == {"nats", "credit"}
    assert PlatformConfig.from_env({}).explicit == set()


def test_services_get_their_own_nats_user_and_the_gateway_none(
    project: Path, tmp_path: Path
) -> None:
    config = _config(project, tmp_path)
    with Platform(config) as platform:
        users = {name: platform.child_env(name).get("JIASAO_NATS_USER") for name in NAMES}
        assert users == {**{s: s for s in SERVICES}, GATEWAY: None}
        passwords = {platform.child_env(s)["JIASAO_NATS_PASSWORD"] for s in SERVICES}
        assert len(passwords) == len(SERVICES)
        assert "JIASAO_NATS_PASSWORD" not in platform.child_env(GATEWAY)
        conf = platform.var_dir / "secrets" / "nats-server.conf"
        assert "registry.>" in conf.read_text()
