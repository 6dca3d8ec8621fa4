"""``python -m gateway serve [--host H] [--port P]``: run the gateway with uvicorn."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from gateway.settings import GatewaySettings
from services.kit.logging import configure_logging
from services.kit.settings import PlatformSettings


def main(argv: list[str] | None = None) -> int:
    settings = GatewaySettings()
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the public API")
    serve.add_argument("--host", default=settings.host, help=f"default {settings.host}")
    serve.add_argument("--port", type=int, default=settings.port, help=f"default {settings.port}")
    args = parser.parse_args(argv)

    # Configure before uvicorn starts so its own start-up lines are JSON too.
    configure_logging("gateway", PlatformSettings().log_level)
    # Default loop/http: uvloop and httptools when installed (uvicorn[standard]).
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        # The gateway is the public edge: it must not let a client rewrite its address through
        # X-Forwarded-For; the proxy handles forwarded headers itself (trust_forwarded_headers).
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
