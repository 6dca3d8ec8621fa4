"""``make run``: start nats-server, migrate, start the five services and the gateway; Ctrl-C stops.

    python -m devtools.run [--var-dir var] [--gateway-port 8000] [--nats-port 4222] ...

Every option has an environment variable (see ``--help``); service ports come from
``<SERVICE>_PORT``. A default port that is taken is replaced by a free one (printed); a port
set explicitly that is taken is an error. With ``JIASAO_NATS_URL`` set, that server is used and
none is started; otherwise nats-server refuses anonymous clients and each service connects as
its own user (passwords under ``<var>/secrets/nats/``).
With ``JIASAO_DB=postgresql`` (or ``--db postgresql``) each service gets its own database
``jiasao_<service>`` on ``JIASAO_POSTGRES_URL``, created when missing (devtools.databases).
Logs go to ``<var>/logs/<name>.log`` and are echoed to the console unless ``--quiet``.
Exit status: 0 after Ctrl-C/SIGTERM, 1 if something failed to start or died.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from devtools.databases import POSTGRESQL, database_name, describe
from devtools.platform import Platform
from devtools.platform_config import (
    GATEWAY,
    NATS,
    PlatformConfig,
    PlatformError,
    PlatformInterrupted,
)
from devtools.ports import free_port

__all__ = ["Platform", "PlatformConfig", "PlatformError", "free_port", "main"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m devtools.run", description=__doc__)
    parser.add_argument("--var-dir", type=Path, help="data and logs (JIASAO_VAR_DIR, ./var)")
    parser.add_argument("--gateway-host", help="gateway bind address (GATEWAY_HOST, 127.0.0.1)")
    parser.add_argument("--gateway-port", type=int, help="gateway port (GATEWAY_PORT, 8000)")
    parser.add_argument("--nats-port", type=int, help="nats-server port (JIASAO_NATS_PORT, 4222)")
    parser.add_argument("--nats-url", help="use this NATS server, start none (JIASAO_NATS_URL)")
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=float(env.get("JIASAO_READY_TIMEOUT") or 60),
        help="seconds to wait for every /readyz (JIASAO_READY_TIMEOUT, 60)",
    )
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        help="sqlite files under var/, or one PostgreSQL database per service (JIASAO_DB, sqlite)",
    )
    parser.add_argument(
        "--postgres-url",
        help="PostgreSQL server for --db postgresql "
        "(JIASAO_POSTGRES_URL, postgresql://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument("--no-migrate", action="store_true", help="skip the migrations")
    parser.add_argument("--quiet", action="store_true", help="do not echo logs to the console")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> PlatformConfig:
    config = PlatformConfig.from_env()
    if args.var_dir is not None:
        config.var_dir = args.var_dir
    if args.gateway_host:
        config.hosts[GATEWAY] = args.gateway_host
    if args.gateway_port is not None:
        config.ports[GATEWAY] = args.gateway_port
        config.explicit.add(GATEWAY)
    if args.nats_port is not None:
        config.nats_port = args.nats_port
        config.explicit.add(NATS)
    if args.nats_url:
        config.nats_url = args.nats_url
    if args.db:
        config.database = args.db
    if args.postgres_url:
        config.postgres_url = args.postgres_url
    config.ready_timeout = args.ready_timeout
    config.migrate = not args.no_migrate
    return config


def _say(message: str) -> None:
    print(f"[jiasao] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        config = config_from_args(args)
    except PlatformError as exc:
        _say(str(exc))
        return 2
    platform = Platform(config, echo_logs=not args.quiet)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if platform.stop_requested:
            _say("already stopping…")
            return
        _say(f"{signal.Signals(signum).name}: stopping")
        platform.request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    for note in platform.choose_ports():
        _say(note)
    if config.nats_url:
        nats = "external NATS" if "@" in config.nats_url else config.nats_url  # no credentials
    else:
        nats = f"nats-server on port {config.nats_port}"
    if config.database == POSTGRESQL:
        names = ", ".join(database_name(config.database_prefix, s) for s in config.services)
        databases = f"PostgreSQL {describe(config.postgres_url)}: {names}"
    else:
        databases = f"SQLite files in {platform.var_dir}"
    _say(f"starting in {platform.var_dir} ({nats}); logs in {platform.log_dir}")
    _say(f"databases: {databases}")
    try:
        platform.start()
    except PlatformInterrupted:
        _say("stopped")
        return 0
    except PlatformError as exc:
        _say(f"failed to start: {exc}")
        return 1

    gateway = platform.gateway_url
    print(f"Jiasao is up: gateway {gateway}  docs {gateway}/docs", flush=True)
    _say("Ctrl-C stops everything")
    dead = platform.wait()
    if dead is not None:
        _say(
            f"{dead.name} exited unexpectedly (code {dead.returncode}); stopping everything.\n"
            f"{dead.log_path}:\n{dead.tail()}"
        )
        platform.stop()
        return 1
    platform.stop()
    _say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
