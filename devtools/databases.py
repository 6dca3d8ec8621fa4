"""``make run`` on PostgreSQL (``JIASAO_DB=postgresql``): one database per service on a server.

    JIASAO_DB=postgresql make run
    JIASAO_DB=postgresql JIASAO_POSTGRES_URL=postgresql://me:pw@db.local:5432/postgres make run

The server URL (``JIASAO_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``)
names a role that may create databases; each service gets ``<prefix>_<service>``
(``JIASAO_DB_PREFIX``, default ``jiasao``), created when missing and kept afterwards, exactly as
a service's own ``<SERVICE>_DATABASE_URL`` would name it (DESIGN.md §2: never shared).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import psycopg
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = (SQLITE, POSTGRESQL)
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_PREFIX = "jiasao"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


class DatabaseSetupError(RuntimeError):
    """The PostgreSQL server cannot be used (bad URL, unreachable, no right to create)."""


def check_backend(value: str) -> str:
    backend = value.strip().lower()
    if backend not in BACKENDS:
        raise DatabaseSetupError(f"JIASAO_DB must be one of {', '.join(BACKENDS)}, not {value!r}")
    return backend


def database_name(prefix: str, service: str) -> str:
    name = f"{prefix}_{service}"
    if not _NAME.match(name):
        raise DatabaseSetupError(
            f"database name {name!r} (JIASAO_DB_PREFIX={prefix!r}) must be lower-case letters, "
            "digits and underscores"
        )
    return name


def describe(server_url: str) -> str:
    """The server for messages: host, port and user, never the password."""
    try:
        url = make_url(server_url)
    except ArgumentError:
        return "(JIASAO_POSTGRES_URL is not a database URL)"
    return f"{url.username or ''}@{url.host or 'localhost'}:{url.port or 5432}"


def ensure_postgres_databases(
    server_url: str, services: Iterable[str], prefix: str = DEFAULT_PREFIX
) -> dict[str, str]:
    """Create ``<prefix>_<service>`` for each service when missing; return each service's
    asyncpg URL (what ``<SERVICE>_DATABASE_URL`` takes)."""
    try:
        server = make_url(server_url)
    except ArgumentError as exc:
        raise DatabaseSetupError(f"JIASAO_POSTGRES_URL is not a database URL: {exc}") from None
    if not server.drivername.startswith(POSTGRESQL):
        raise DatabaseSetupError(
            f"JIASAO_POSTGRES_URL must be a postgresql:// URL, not {server.drivername}://"
        )
    admin = server.set(drivername=POSTGRESQL).render_as_string(hide_password=False)
    names = {service: database_name(prefix, service) for service in services}
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            existing = {
                row[0]
                for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname = ANY(%s)",
                    (list(names.values()),),
                )
            }
            for name in names.values():
                if name not in existing:
                    conn.execute(f'CREATE DATABASE "{name}"')  # checked by database_name
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseSetupError(
            f"PostgreSQL at {describe(server_url)}: {reason}. Set JIASAO_POSTGRES_URL to a "
            "server and role that may create databases."
        ) from None
    return {
        service: server.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
        for service, name in names.items()
    }


def drop_postgres_databases(
    server_url: str, services: Iterable[str], prefix: str = DEFAULT_PREFIX
) -> None:
    """Drop the databases :func:`ensure_postgres_databases` made (tests clean up with it)."""
    admin = make_url(server_url).set(drivername=POSTGRESQL).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        for service in services:
            name = database_name(prefix, service)
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
