"""Command line shared by all services: ``python -m services.<name> serve|migrate``."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from services.kit.migrate import upgrade
from services.kit.settings import PlatformSettings, service_settings


def main(service: str, app_factory: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service's HTTP API, relay and consumers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("migrate", help="upgrade the service's database to the newest schema")
    args = parser.parse_args(argv)

    platform = PlatformSettings()
    settings = service_settings(service, platform)
    if args.command == "migrate":
        upgrade(service, settings.database_url)
        return 0
    uvicorn.run(
        app_factory,
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,  # our JSON logging is configured by the app factory
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
