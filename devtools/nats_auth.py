"""NATS users and permissions: one user per service, allowed only what its code does.

A service may publish its own subjects (``<service>.>``), manage its own stream, read the info
of the streams it consumes, create/inspect/pull/ack/delete its own durable consumers on them
(delete: the operator's ``rebuild`` command starts a consumer over from the stream's start), and
receive replies on its own inbox prefix (``_INBOX.<service>.>``, which the kit's Bus sets), so
it never sees another service's replies or pulled messages. Anything else is refused, including
listing or deleting streams. Anonymous clients are refused (no ``no_auth_user``).

Consumer names come from the subscriptions each service passes to ``create_service_app``
(NATS wildcards match whole tokens only, so ``credit-*`` cannot be written as a permission).

    python -m devtools.nats_auth deploy   # regenerate deploy/nats/accounts.conf
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.catalog import STREAMS
from services.kit.declarations import declared
from services.kit.secret_files import write_once
from services.kit.settings import SERVICES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPLOY_ACCOUNTS = PROJECT_ROOT / "deploy" / "nats" / "accounts.conf"
API = "$JS.API"


@dataclass(frozen=True)
class Consumer:
    stream: str
    name: str


def declared_consumers(service: str) -> list[Consumer]:
    """The durable consumers ``service`` creates, read from what its ``create_app`` passes to
    the kit (services.kit.declarations: no app, database or key is touched)."""
    return [Consumer(s.stream_name(), s.name) for s in declared(service).subscriptions]


def permissions(service: str, consumers: Iterable[Consumer]) -> dict[str, Any]:
    """The nats-server ``permissions`` block for ``service``."""
    own = service.upper()
    publish: list[str] = []
    if own in STREAMS:
        publish += list(STREAMS[own])
        publish += [f"{API}.STREAM.{verb}.{own}" for verb in ("CREATE", "UPDATE", "INFO")]
    consumers = sorted(set(consumers), key=lambda c: (c.stream, c.name))
    for stream in sorted({c.stream for c in consumers} - {own}):
        publish.append(f"{API}.STREAM.INFO.{stream}")
    for c in consumers:
        publish += [
            f"{API}.CONSUMER.CREATE.{c.stream}.{c.name}",
            f"{API}.CONSUMER.CREATE.{c.stream}.{c.name}.>",  # with a filter subject
            f"{API}.CONSUMER.DURABLE.CREATE.{c.stream}.{c.name}",
            f"{API}.CONSUMER.INFO.{c.stream}.{c.name}",
            # `python -m services.<name> rebuild <read-model>` replays from the start.
            f"{API}.CONSUMER.DELETE.{c.stream}.{c.name}",
            f"{API}.CONSUMER.MSG.NEXT.{c.stream}.{c.name}",
            f"$JS.ACK.{c.stream}.{c.name}.>",
        ]
    return {"publish": {"allow": publish}, "subscribe": {"allow": [f"_INBOX.{service}.>"]}}


def all_permissions() -> dict[str, dict[str, Any]]:
    return {service: permissions(service, declared_consumers(service)) for service in SERVICES}


def _users(passwords: Mapping[str, str], perms: Mapping[str, dict[str, Any]]) -> str:
    """Config text for ``users: [...]``; a password is a literal or, from ``$NAME``, a
    variable the server reads from its environment."""
    lines = ["users: ["]
    for service, password in passwords.items():
        value = password if password.startswith("$") else json.dumps(password)
        # JSON is valid config syntax, and quoting keeps "$JS..." a literal, not a variable.
        block = json.dumps(perms[service], indent=2).replace("\n", "\n  ")
        lines.append(f"  {{user: {json.dumps(service)}, password: {value}, permissions: {block}}}")
    lines.append("]")
    return "\n".join(lines)


# -- development (make run) ----------------------------------------------------------------


@dataclass(frozen=True)
class NatsCredentials:
    user: str
    password: str


def ensure_dev_credentials(var_dir: Path) -> dict[str, NatsCredentials]:
    """One random password per service under ``<var>/secrets/nats/`` (created once, 0600)."""
    found: dict[str, NatsCredentials] = {}
    for service in SERVICES:
        path = write_once(
            var_dir / "secrets" / "nats" / f"{service}.json",
            {"user": service, "password": secrets.token_urlsafe(32)},
        )
        data = json.loads(path.read_text(encoding="utf-8"))
        found[service] = NatsCredentials(str(data["user"]), str(data["password"]))
    return found


def write_dev_config(var_dir: Path, credentials: Mapping[str, NatsCredentials]) -> Path:
    """``<var>/secrets/nats-server.conf``: the users and their permissions, rewritten on every
    start (the code decides the permissions; only the passwords are kept)."""
    perms = all_permissions()
    text = (
        "# Written by devtools.nats_auth on every `make run`; edits are lost.\n"
        "authorization {\n"
        + _users({c.user: c.password for c in credentials.values()}, perms)
        + "\n}\n"
    )
    path = var_dir / "secrets" / "nats-server.conf"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


# -- production (deploy/nats) --------------------------------------------------------------


def deploy_accounts() -> str:
    """deploy/nats/accounts.conf: the JIASAO account with the same users and permissions;
    each password comes from ``$<SERVICE>_NATS_PASSWORD`` in the server's environment."""
    passwords = {service: f"${service.upper()}_NATS_PASSWORD" for service in SERVICES}
    body = _users(passwords, all_permissions())
    indented = "\n".join(f"    {line}" for line in body.splitlines())
    return (
        "# Generated by `python -m devtools.nats_auth deploy` from the services' subscriptions;\n"
        "# tests/devtools/test_nats_auth.py fails when it is out of date. Do not edit.\n"
        "accounts {\n"
        "  JIASAO {\n"
        "    jetstream: enabled\n"
        f"{indented}\n"
        "  }\n"
        "  SYS {\n"
        '    users: [{user: "sys", password: $NATS_SYS_PASSWORD}]\n'
        "  }\n"
        "}\n"
        "system_account: SYS\n"
    )


def main(argv: list[str]) -> int:
    if argv != ["deploy"]:
        print(__doc__, file=sys.stderr)
        return 2
    DEPLOY_ACCOUNTS.parent.mkdir(parents=True, exist_ok=True)
    DEPLOY_ACCOUNTS.write_text(deploy_accounts(), encoding="utf-8")
    print(f"wrote {DEPLOY_ACCOUNTS.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
