"""Revision 24429b9f5ea6: existing certificates get their own check codes, the models match
the migrated schema, and it downgrades cleanly."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.credit.codes import ALPHABET
from services.credit.models import Base
from services.kit.migrate import alembic_config, sync_url, upgrade
from tests.support.databases import service_database

REVISION = "24429b9f5ea6"
BEFORE = "a1d0e2c3b402"
NEW_TABLES = {"credit_employment", "credit_consents", "credit_access_log"}


def _old_certificate(connection: sa.Connection, seq: int) -> None:
    certificates = sa.table(
        "certificates",
        sa.column("id", sa.Uuid()),
        sa.column("number"),
        sa.column("kind"),
        sa.column("worker_id", sa.Uuid()),
        sa.column("issued_at", sa.DateTime(timezone=True)),
        sa.column("version"),
    )
    connection.execute(
        certificates.insert().values(
            id=uuid.uuid4(),
            number=f"ZQJS-2026-{seq:06d}",
            kind="training",
            worker_id=uuid.uuid4(),
            issued_at=datetime.now(UTC),
            version=1,
        )
    )


def _credit_objects(
    obj: object, name: str | None, type_: str, reflected: bool, other: object
) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) in Base.metadata.tables


def test_existing_certificates_get_check_codes(backend: str, tmp_path: Path) -> None:
    with service_database("credit", backend, tmp_path, migrate=False) as url:
        upgrade("credit", url, BEFORE)
        engine = sa.create_engine(sync_url(url))
        with engine.begin() as connection:
            for seq in range(1, 6):
                _old_certificate(connection, seq)
        upgrade("credit", url)
        with engine.connect() as connection:
            codes = connection.execute(sa.text("SELECT check_code FROM certificates")).scalars()
            codes = list(codes)
            assert len(codes) == 5 and len(set(codes)) == 5
            assert all(re.fullmatch(f"[{ALPHABET}]{{8}}", code) for code in codes)
            # Credit's own tables; the kit's have their own tests.
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _credit_objects}
            )
            assert compare_metadata(context, Base.metadata) == []
            column = {c["name"]: c for c in sa.inspect(connection).get_columns("certificates")}
            assert column["check_code"]["nullable"] is False
        engine.dispose()
        config = alembic_config("credit", url)
        command.downgrade(config, BEFORE)
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            assert not NEW_TABLES & set(inspector.get_table_names())
            assert "check_code" not in {c["name"] for c in inspector.get_columns("certificates")}
        engine.dispose()
        command.upgrade(config, "head")
