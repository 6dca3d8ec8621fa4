"""Real databases for tests: a SQLite file, and a uniquely named PostgreSQL database.

PostgreSQL runs only when ``JIASAO_TEST_POSTGRES_URL`` points at a server (CI sets it); each
test database is created fresh and dropped after, so runs never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from services.kit.migrate import upgrade

POSTGRES_ENV = "JIASAO_TEST_POSTGRES_URL"


def backends() -> list[str]:
    """The database backends this run covers."""
    return ["sqlite", "postgresql"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]


def _admin_url() -> str:
    url = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_database(prefix: str = "jiasao_test") -> Iterator[str]:
    """Create a fresh database; yields its asyncpg URL; drops it (forcing connections) after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def service_database(
    service: str, backend: str, tmp_dir: Path, *, migrate: bool = True
) -> Iterator[str]:
    """A migrated database for ``service`` on ``backend``; yields its async URL."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_dir / f'{service}-{uuid.uuid4().hex[:8]}.db'}"
        if migrate:
            upgrade(service, url)
        yield url
        return
    with postgres_database(f"jiasao_{service}") as url:
        if migrate:
            upgrade(service, url)
        yield url
