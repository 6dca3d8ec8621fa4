"""Command line shared by all services: ``python -m services.<name> COMMAND``.

``serve`` and ``migrate`` run the service; the operator commands (``dead-letters``,
``rebuild``, ``lag``, ``rotate-keys``) are in services.kit.operator_cli and documented in
docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn

from services.kit import app as kit_app
from services.kit import operator_cli
from services.kit.migrate import upgrade
from services.kit.settings import PlatformSettings, service_settings


def parser_for(service: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service's HTTP API, relay and consumers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("migrate", help="upgrade the service's database to the newest schema")

    letters = sub.add_parser("dead-letters", help="list or replay events consumers gave up on")
    letters_sub = letters.add_subparsers(dest="action", required=True)
    listing = letters_sub.add_parser("list", help="dead letters, oldest first")
    listing.add_argument("--include-replayed", action="store_true")
    listing.add_argument("--limit", type=int, default=100)
    replay = letters_sub.add_parser("replay", help="run the consumer's handler on them again")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", dest="ids", metavar="ID", help="repeatable")
    which.add_argument("--all", action="store_true", help="every dead letter not replayed yet")

    rebuild = sub.add_parser(
        "rebuild", help="empty a read model and replay its streams from the start"
    )
    rebuild.add_argument("read_model", help="a read model this service declares")
    rebuild.add_argument("--timeout", type=float, default=600.0, help="seconds (600)")
    rebuild.add_argument(
        "--nats-wait",
        type=float,
        default=operator_cli.REBUILD_NATS_WAIT_S,
        help="seconds to keep trying while NATS times out (120)",
    )

    sub.add_parser("lag", help="outbox backlog and each durable consumer's lag on JetStream")
    sub.add_parser(
        "rotate-keys", help="rotate the keys this service holds (registry: token signing)"
    )
    return parser


def main(service: str, app_factory: str, argv: list[str] | None = None) -> int:
    args = parser_for(service).parse_args(argv)
    if args.command == "serve":
        return serve(service, app_factory, args.host, args.port)
    if args.command == "migrate":
        upgrade(service, service_settings(service, PlatformSettings()).database_url)
        return 0
    if args.command == "rotate-keys":  # the registry's own command runs before this one
        return operator_cli.rotate_keys_elsewhere(service)
    return asyncio.run(_operate(service, args))


async def _operate(service: str, args: argparse.Namespace) -> int:
    async with operator_cli.operator(service) as op:
        if args.command == "dead-letters" and args.action == "list":
            return await operator_cli.dead_letters_list(
                op, include_replayed=args.include_replayed, limit=args.limit
            )
        if args.command == "dead-letters":
            return await operator_cli.dead_letters_replay(op, args.ids or [], replay_all=args.all)
        if args.command == "rebuild":
            return await operator_cli.rebuild_read_model(
                op, args.read_model, timeout=args.timeout, nats_wait=args.nats_wait
            )
        return await operator_cli.lag(op)


def serve(service: str, app_factory: str, host: str | None, port: int | None) -> int:
    settings = service_settings(service, PlatformSettings())
    kit_app.FREEZE_GC_AFTER_STARTUP = True  # one app per process: see freeze_startup_objects
    uvicorn.run(
        app_factory,
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,  # our JSON logging is configured by the app factory
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
