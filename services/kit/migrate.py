"""Alembic per service, configured in code so each service only ships ``migrations/``.

Alembic runs on the sync driver (psycopg / pysqlite) and in batch mode on SQLite, as DESIGN.md
says; the async URL the service uses is translated here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, make_url

_SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}


def sync_url(database_url: str) -> URL:
    """The sync-driver URL alembic uses for the service's async URL."""
    url = make_url(database_url)
    return url.set(drivername=_SYNC_DRIVERS.get(url.drivername, url.drivername))


def alembic_config(service: str, database_url: str) -> Config:
    package = importlib.import_module(f"services.{service}")
    assert package.__file__ is not None
    script_location = Path(package.__file__).parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    # Alembic's ini interpolation treats % specially; URLs may contain %-escapes.
    config.set_main_option(
        "sqlalchemy.url", sync_url(database_url).render_as_string(False).replace("%", "%%")
    )
    config.attributes["service"] = service
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Bring ``service``'s database to ``revision``; creates the SQLite file's folder if needed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(service, database_url), revision)


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render kit column types as plain SQLAlchemy types so migrations import nothing of ours."""
    from services.kit.types import UtcDateTime

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_env(target_metadata: object) -> None:
    """Body of every service's ``migrations/env.py``."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, render_as_batch=is_sqlite)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    if is_sqlite:
        # WAL is set here, once, on the one connection a migration uses, so the service's many
        # connections never race to switch the file (see kit.db.sqlite_pragmas).
        from sqlalchemy import event

        from services.kit.db import sqlite_wal

        event.listen(engine, "connect", lambda dbapi, _record: sqlite_wal(dbapi.cursor()))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite,
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
