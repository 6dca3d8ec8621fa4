"""Where the platform's processes listen and keep their data (:class:`PlatformConfig`), and
the development secrets every child shares; :mod:`devtools.platform` starts the processes."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from devtools.databases import (
    DEFAULT_POSTGRES_URL,
    DEFAULT_PREFIX,
    SQLITE,
    DatabaseSetupError,
    check_backend,
    database_name,
)
from devtools.ports import LOCALHOST, free_ports
from services.kit.auth import ensure_dev_jwt_keys
from services.kit.pii import ensure_dev_pii_keys
from services.kit.secret_files import write_once
from services.kit.settings import SERVICE_PORTS, SERVICES
from services.kit.signing import ensure_dev_exchange_keys

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GATEWAY = "gateway"
NAMES: tuple[str, ...] = (*SERVICES, GATEWAY)
NATS = "nats"
ENV_PREFIXES = ("JIASAO_", *(f"{name.upper()}_" for name in NAMES))


def ensure_dev_secrets(var_dir: Path) -> None:
    """Development keys under ``var_dir`` on first start (DESIGN.md §5); kept afterwards.

    Created here, before any child starts, so five services never race to create them.
    """
    ensure_dev_pii_keys(var_dir)
    ensure_dev_jwt_keys(var_dir)
    ensure_dev_exchange_keys(var_dir)
    dev_metrics_token(var_dir)


def dev_metrics_token(var_dir: Path) -> str:
    """The development Prometheus scrape token (``JIASAO_METRICS_TOKEN`` of every child)."""
    path = write_once(
        var_dir / "secrets" / "metrics_token.json", {"token": secrets.token_urlsafe(32)}
    )
    return str(json.loads(path.read_text(encoding="utf-8"))["token"])


class PlatformError(RuntimeError):
    """The platform could not start, or a part of it failed."""


class PlatformInterrupted(PlatformError):
    """:meth:`Platform.request_stop` was called while the platform was starting."""


def port_env(name: str) -> str:
    return f"{name.upper()}_PORT"


@dataclass
class PlatformConfig:
    """Where everything listens and keeps its data. Names are ``gateway`` and SERVICES."""

    var_dir: Path = Path("var")
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    #: Names ("nats" too) whose port the user chose: taken is an error. Any other port that
    #: is taken is replaced by a free one (DESIGN.md §5).
    explicit: set[str] = field(default_factory=set)
    #: Bind address per name; 127.0.0.1 when absent.
    hosts: dict[str, str] = field(default_factory=dict)
    nats_port: int = 4222
    #: A running NATS server (with JetStream) to use instead of starting one.
    nats_url: str | None = None
    #: The started nats-server refuses anonymous clients; each service gets its own user.
    nats_auth: bool = True
    #: Extra environment for every child, applied last (so it may override anything).
    env: dict[str, str] = field(default_factory=dict)
    #: Drop inherited JIASAO_*, GATEWAY_* and <SERVICE>_* variables (tests want isolation).
    clean_env: bool = False
    #: "sqlite" (files under var/) or "postgresql": one database per service on postgres_url,
    #: named <database_prefix>_<service>, created when missing (devtools.databases).
    database: str = SQLITE
    postgres_url: str = DEFAULT_POSTGRES_URL
    database_prefix: str = DEFAULT_PREFIX
    ready_timeout: float = 60.0
    stop_timeout: float = 10.0
    migrate_timeout: float = 120.0
    migrate: bool = True
    services: tuple[str, ...] = SERVICES
    gateway: bool = True
    python: str = sys.executable
    cwd: Path = PROJECT_ROOT

    def host(self, name: str) -> str:
        return self.hosts.get(name, LOCALHOST)

    def port(self, name: str) -> int:
        return self.ports.get(name, SERVICE_PORTS[name])

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PlatformConfig:
        """Defaults overridden by JIASAO_VAR_DIR, JIASAO_NATS_PORT, JIASAO_NATS_URL, JIASAO_DB,
        JIASAO_POSTGRES_URL, JIASAO_DB_PREFIX, and ``<NAME>_PORT`` / ``<NAME>_HOST`` for the
        gateway and each service. A bad JIASAO_DB raises :class:`PlatformError`."""
        environ = os.environ if environ is None else environ
        prefix = environ.get("JIASAO_DB_PREFIX") or DEFAULT_PREFIX
        try:
            database = check_backend(environ.get("JIASAO_DB") or SQLITE)
            database_name(prefix, "service")  # a usable prefix
        except DatabaseSetupError as exc:
            raise PlatformError(str(exc)) from None
        config = cls(
            var_dir=Path(environ.get("JIASAO_VAR_DIR") or "var"),
            nats_port=int(environ.get("JIASAO_NATS_PORT") or 4222),
            nats_url=environ.get("JIASAO_NATS_URL") or None,
            database=database,
            postgres_url=environ.get("JIASAO_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
            database_prefix=prefix,
        )
        if environ.get("JIASAO_NATS_PORT"):
            config.explicit.add(NATS)
        for name in NAMES:
            if environ.get(port_env(name)):
                config.ports[name] = int(environ[port_env(name)])
                config.explicit.add(name)
            if environ.get(f"{name.upper()}_HOST"):
                config.hosts[name] = environ[f"{name.upper()}_HOST"]
        return config

    @classmethod
    def with_free_ports(cls, var_dir: Path, **overrides: Any) -> PlatformConfig:
        """Free ports for everything (nats included), isolated from the caller's env."""
        ports = free_ports(len(NAMES) + 1)
        config = cls(
            var_dir=var_dir,
            ports=dict(zip(NAMES, ports, strict=False)),
            nats_port=ports[-1],
            explicit={NATS, *NAMES},
            clean_env=True,
        )
        return replace(config, **overrides)
