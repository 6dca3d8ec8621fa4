"""Revision c7e1f2a3b4c5: the credit-file tables match the models, policy version 1 is stored
(and equals the code's defaults), and the revision downgrades cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import services.credit.files.models  # noqa: F401  (registers the tables on Base)
from services.credit.files.policy import DEFAULT_RULES, CreditRules
from services.credit.models import Base
from services.kit.migrate import alembic_config, sync_url, upgrade
from tests.support.databases import service_database

BEFORE = "b2e1f3d4c502"
NEW_TABLES = {
    "credit_policies",
    "credit_parties",
    "credit_records",
    "credit_list_entries",
    "credit_complaints",
    "credit_complaint_steps",
    "credit_repairs",
    "credit_mandatory_checks",
}


def _new_objects(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) in NEW_TABLES


def test_credit_files_migration(backend: str, tmp_path: Path) -> None:
    with service_database("credit", backend, tmp_path, migrate=False) as url:
        upgrade("credit", url, BEFORE)
        upgrade("credit", url)
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _new_objects}
            )
            assert compare_metadata(context, Base.metadata) == []
            rows = connection.execute(sa.text("SELECT version, rules FROM credit_policies"))
            [(version, rules)] = list(rows)
            rules = json.loads(rules) if isinstance(rules, str) else rules
            assert version == 1 and rules == DEFAULT_RULES
            CreditRules.model_validate(rules)
        engine.dispose()
        config = alembic_config("credit", url)
        command.downgrade(config, BEFORE)
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            assert not NEW_TABLES & set(sa.inspect(connection).get_table_names())
        engine.dispose()
        command.upgrade(config, "head")
