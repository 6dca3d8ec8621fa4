"""The whole platform as child processes: nats-server, migrations, five services, the gateway.

``make run`` drives it from :mod:`devtools.run`; the e2e tests use it directly::

    platform = Platform(PlatformConfig.with_free_ports(tmp_path))
    platform.start()          # raises PlatformError (having stopped everything) on failure
    ...platform.gateway_url, platform.url("registry")...
    platform.stop()
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from devtools.databases import (
    POSTGRESQL,
    DatabaseSetupError,
    ensure_postgres_databases,
)
from devtools.logs import LogFollower
from devtools.nats import NatsServer, NatsServerError, server_info
from devtools.nats_auth import NatsCredentials, ensure_dev_credentials, write_dev_config
from devtools.platform_config import (
    ENV_PREFIXES,
    GATEWAY,
    NAMES,
    NATS,
    PlatformConfig,
    PlatformError,
    PlatformInterrupted,
    dev_metrics_token,
    ensure_dev_secrets,
    port_env,
)
from devtools.ports import LOCALHOST, connect_host, free_ports, port_is_free
from devtools.proc import ManagedProcess, log_tail, stop_all
from services.kit.settings import SERVICES


class Platform:
    """Starts and stops the platform's processes; see the module docstring."""

    def __init__(self, config: PlatformConfig, *, echo_logs: bool = False) -> None:
        self.config = config
        self.var_dir = config.var_dir.resolve()
        self.log_dir = self.var_dir / "logs"
        self.nats: NatsServer | None = None
        self.processes: dict[str, ManagedProcess] = {}
        self._stop_event = threading.Event()
        self._stopped = False
        self._follower = LogFollower() if echo_logs else None
        self._ports_chosen = False
        self.nats_credentials: dict[str, NatsCredentials] = {}
        #: <SERVICE>_DATABASE_URL per service when config.database is "postgresql".
        self.database_urls: dict[str, str] = {}

    # -- addresses ---------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.config.services, *((GATEWAY,) if self.config.gateway else ()))

    @property
    def metrics_token(self) -> str:
        """What a Prometheus scrape of any process sends as its bearer token."""
        return dev_metrics_token(self.var_dir)

    def url(self, name: str) -> str:
        host = connect_host(self.config.host(name))
        return f"http://{host}:{self.config.port(name)}"

    @property
    def gateway_url(self) -> str:
        return self.url(GATEWAY)

    @property
    def service_urls(self) -> dict[str, str]:
        return {name: self.url(name) for name in self.config.services}

    @property
    def nats_url(self) -> str:
        if self.config.nats_url:
            return self.config.nats_url
        return f"nats://{LOCALHOST}:{self.config.nats_port}"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pids(self) -> dict[str, int]:
        """Process ids of the running children (nats included when this platform owns it)."""
        procs = dict(self.processes)
        if self.nats and self.nats.process:
            procs["nats"] = self.nats.process
        return {name: p.pid for name, p in procs.items() if p.alive and p.pid is not None}

    def log_tails(self, lines: int = 30) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"----- {path} -----\n{log_tail(path, lines)}")
        return "\n".join(parts)

    # -- lifecycle ---------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask :meth:`start` or :meth:`wait` to give up; safe from a signal handler."""
        self._stop_event.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop_event.is_set()

    def start(self) -> None:
        """Start everything and wait until every /readyz answers 200. On any failure stop
        what was started and raise :class:`PlatformError`."""
        self._stopped = False
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def choose_ports(self) -> list[str]:
        """Replace each taken default port (nats, services, gateway) by a free one; returns one
        line per change. The chosen ports reach the children through :meth:`child_env`."""
        if self._ports_chosen:
            return []
        self._ports_chosen = True
        taken: list[tuple[str, str, int]] = []
        if not self.config.nats_url and NATS not in self.config.explicit:
            if not port_is_free(LOCALHOST, self.config.nats_port):
                taken.append((NATS, LOCALHOST, self.config.nats_port))
        for name in self.names:
            host, port = self.config.host(name), self.config.port(name)
            if name not in self.config.explicit and not port_is_free(host, port):
                taken.append((name, host, port))
        notes = []
        for (name, host, port), new in zip(taken, free_ports(len(taken)), strict=True):
            # free_ports binds 127.0.0.1; a port free there is free on a wildcard bind too
            # unless something holds it on another address, which the start would report.
            if name == NATS:
                self.config.nats_port = new
            else:
                self.config.ports[name] = new
            what = "nats-server" if name == NATS else name
            notes.append(f"port {port} is taken ({host}); {what} uses port {new} instead")
        return notes

    def _start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.choose_ports()
        self._check_ports()
        for name in ("nats", *self.names):
            self.log_path(name).write_bytes(b"")
        if self._follower:
            for name in ("nats", *self.names):
                self._follower.follow(name, self.log_path(name))
            self._follower.start()
        ensure_dev_secrets(self.var_dir)
        self._prepare_databases()
        self._start_nats()
        if self.config.migrate:
            for name in self.config.services:
                self._migrate(name, self.child_env())
        for name in self.names:
            argv = [self.config.python, "-m", self._module(name), "serve"]
            env = self.child_env(name)
            proc = ManagedProcess(name, argv, self.log_path(name), env=env, cwd=self.config.cwd)
            self.processes[name] = proc
            proc.start()
        self._wait_ready()
        if self._follower:
            self._follower.poll()  # what they said while starting, before the caller's banner

    def _check_ports(self) -> None:
        if not self.config.nats_url and not port_is_free(LOCALHOST, self.config.nats_port):
            raise PlatformError(
                f"port {self.config.nats_port} for nats-server on {LOCALHOST} is already in use "
                "(another nats-server?). Set JIASAO_NATS_PORT to a free port, or "
                f"JIASAO_NATS_URL=nats://{LOCALHOST}:{self.config.nats_port} to use the server "
                "that runs there (it needs JetStream), or unset JIASAO_NATS_PORT to let "
                "make run pick a free port."
            )
        for name in self.names:
            host, port = self.config.host(name), self.config.port(name)
            if not port_is_free(host, port):
                raise PlatformError(
                    f"port {port} for {name} on {host} is already in use; "
                    f"set {port_env(name)} to a free port, or unset it to let make run pick one"
                )

    def _prepare_databases(self) -> None:
        """On PostgreSQL: one database per service, unless ``<SERVICE>_DATABASE_URL`` is set
        for it (in the environment, or config.env), which then wins."""
        if self.config.database != POSTGRESQL:
            return
        inherited = {} if self.config.clean_env else dict(os.environ)
        given = {**inherited, **self.config.env}
        services = [s for s in self.config.services if not given.get(f"{s.upper()}_DATABASE_URL")]
        try:
            self.database_urls = ensure_postgres_databases(
                self.config.postgres_url, services, self.config.database_prefix
            )
        except DatabaseSetupError as exc:
            raise PlatformError(str(exc)) from exc

    def _start_nats(self) -> None:
        if self.config.nats_url:
            self._check_external_nats(self.config.nats_url)
            return
        config_file = None
        if self.config.nats_auth:
            self.nats_credentials = ensure_dev_credentials(self.var_dir)
            config_file = write_dev_config(self.var_dir, self.nats_credentials)
        self.nats = NatsServer(
            self.config.nats_port,
            self.var_dir / "nats",
            log_file=self.log_path("nats"),
            config_file=config_file,
        )
        try:
            self.nats.start()
        except NatsServerError as exc:
            raise PlatformError(str(exc)) from exc

    def _check_external_nats(self, url: str) -> None:
        first = urlsplit(url.split(",")[0].strip())
        if first.scheme not in ("nats", "") or not first.hostname:
            return  # tls:// or something unusual: trust the caller
        address = f"{first.hostname}:{first.port or 4222}"
        deadline = time.monotonic() + 5
        while server_info(first.hostname, first.port or 4222) is None:
            self._raise_if_stop_requested()
            if time.monotonic() > deadline:
                raise PlatformError(f"JIASAO_NATS_URL: no NATS server answers at {address}")
            time.sleep(0.2)

    def child_env(self, name: str | None = None) -> dict[str, str]:
        """The environment of child ``name``: addresses of everything, the service's own NATS
        user when this platform started nats-server with users, then config.env."""
        env = dict(os.environ)
        if self.config.clean_env:
            env = {k: v for k, v in env.items() if not k.startswith(ENV_PREFIXES)}
        env["PYTHONUNBUFFERED"] = "1"
        env["JIASAO_VAR_DIR"] = str(self.var_dir)
        env["JIASAO_NATS_URL"] = self.nats_url
        env["JIASAO_METRICS_TOKEN"] = self.metrics_token
        for other in NAMES:
            env[f"{other.upper()}_HOST"] = self.config.host(other)
            env[port_env(other)] = str(self.config.port(other))
        for service in SERVICES:
            env[f"GATEWAY_{service.upper()}_URL"] = self.url(service)
        for service, database_url in self.database_urls.items():
            env[f"{service.upper()}_DATABASE_URL"] = database_url
        if self.nats is not None:  # our server: only the users it knows, never an inherited one
            env.pop("JIASAO_NATS_USER", None)
            env.pop("JIASAO_NATS_PASSWORD", None)
        credentials = self.nats_credentials.get(name or "")
        if credentials is not None:
            env["JIASAO_NATS_USER"] = credentials.user
            env["JIASAO_NATS_PASSWORD"] = credentials.password
        env.update(self.config.env)
        return env

    @staticmethod
    def _module(name: str) -> str:
        return GATEWAY if name == GATEWAY else f"services.{name}"

    def _migrate(self, name: str, env: dict[str, str]) -> None:
        argv = [self.config.python, "-m", self._module(name), "migrate"]
        proc = ManagedProcess(
            f"{name}-migrate", argv, self.log_path(name), env=env, cwd=self.config.cwd
        )
        proc.start()
        deadline = time.monotonic() + self.config.migrate_timeout
        while proc.wait(0.1) is None:
            if self.stop_requested or time.monotonic() > deadline:
                proc.stop(self.config.stop_timeout)
                self._raise_if_stop_requested()
                raise PlatformError(
                    f"migrating {name} took more than {self.config.migrate_timeout:.0f}s; "
                    f"{proc.log_path}:\n{proc.tail()}"
                )
        if proc.returncode != 0:
            raise PlatformError(
                f"migrating {name} failed (exit code {proc.returncode}); "
                f"{proc.log_path}:\n{proc.tail()}"
            )

    def _wait_ready(self, names: tuple[str, ...] | None = None) -> None:
        pending = list(names or self.names)
        deadline = time.monotonic() + self.config.ready_timeout
        while pending:
            self._raise_if_stop_requested()
            self._raise_if_died()
            pending = [name for name in pending if not self._ready(name)]
            if not pending:
                return
            if time.monotonic() > deadline:
                details = "\n".join(
                    f"{name}: {self.url(name)}/readyz; {self.log_path(name)}:\n"
                    f"{self.processes[name].tail()}"
                    for name in pending
                )
                raise PlatformError(
                    f"not ready after {self.config.ready_timeout:.0f}s: "
                    f"{', '.join(pending)}\n{details}"
                )
            self._stop_event.wait(0.2)

    def _ready(self, name: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url(name)}/readyz", timeout=2) as resp:
                return int(resp.status) == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _raise_if_stop_requested(self) -> None:
        if self.stop_requested:
            raise PlatformInterrupted("stop requested while starting")

    def _raise_if_died(self) -> None:
        dead = self.dead()
        if dead:
            proc = dead[0]
            raise PlatformError(
                f"{proc.name} exited with code {proc.returncode}; {proc.log_path}:\n{proc.tail()}"
            )

    def dead(self) -> list[ManagedProcess]:
        """Children (nats included) that exited although nobody stopped them."""
        if self._stopped:
            return []
        procs = list(self.processes.values())
        if self.nats and self.nats.process:
            procs.append(self.nats.process)
        return [p for p in procs if not p.alive]

    def wait(self, interval: float = 0.5) -> ManagedProcess | None:
        """Block until :meth:`request_stop` (returns None) or a child dies (returns it)."""
        while not self._stop_event.wait(interval):
            dead = self.dead()
            if dead:
                return dead[0]
        return None

    def stop(self) -> None:
        """Gateway first, then the services, then nats: SIGTERM, up to stop_timeout s each,
        then SIGKILL. Idempotent."""
        self._stopped = True
        timeout = self.config.stop_timeout
        gateway = self.processes.get(GATEWAY)
        if gateway:
            gateway.stop(timeout)
        stop_all([p for n, p in reversed(self.processes.items()) if n != GATEWAY], timeout)
        if self.nats:
            self.nats.stop(timeout)
        if self._follower:
            self._follower.stop()

    def restart(self, name: str, *, crash: bool = False) -> None:
        """Restart one child, for fault tests: SIGTERM it (SIGKILL with ``crash``), start it
        again with the same settings and wait for its /readyz. ``"nats"`` restarts the
        nats-server on the same port and store."""
        if name == "nats":
            if self.nats is None:
                raise PlatformError("this platform uses an external NATS server")
            if crash:
                self.nats.kill()
            self.nats.restart()
            return
        proc = self.processes[name]
        if crash:
            proc.kill()
        else:
            proc.stop(self.config.stop_timeout)
        proc.start()
        self._wait_ready((name,))

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
