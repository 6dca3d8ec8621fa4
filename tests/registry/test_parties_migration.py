"""Revision 0003_parties: upgrades a database holding workers of the earlier schema, matches
the models exactly, and downgrades cleanly."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.kit.migrate import alembic_config, sync_url, upgrade
from services.registry.models import (
    Base,
    Company,
    Consent,
    Employer,
    Employment,
    Institution,
    Partner,
    Worker,
    WorkerStatusChange,
    WorkerTargetGroup,
    WorkerTrack,
)
from tests.support.databases import service_database

PARTY_TABLES = {
    table.name
    for table in (
        Worker.__table__,
        WorkerTrack.__table__,
        WorkerTargetGroup.__table__,
        WorkerStatusChange.__table__,
        Employment.__table__,
        Company.__table__,
        Institution.__table__,
        Employer.__table__,
        Partner.__table__,
        Consent.__table__,
    )
}


def _party_objects(
    obj: object, name: str | None, type_: str, reflected: bool, other: object
) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) in PARTY_TABLES


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(sync_url(url))


_PLAIN_COLUMNS = (
    "name",
    "gender",
    "id_card_encrypted",
    "id_card_index",
    "id_card_masked",
    "phone_encrypted",
    "phone_index",
    "phone_masked",
    "county",
    "status",
    "company_id",
    "version",
)


def _old_worker(connection: sa.Connection, tracks: list[str]) -> uuid.UUID:
    worker_id = uuid.uuid4()
    workers = sa.table(
        "workers",
        *(sa.column(name) for name in _PLAIN_COLUMNS),
        sa.column("id", sa.Uuid()),
        sa.column("birth_date", sa.Date()),
        sa.column("tracks", sa.JSON()),
        sa.column("languages", sa.JSON()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    connection.execute(
        workers.insert().values(
            id=worker_id,
            name="旧数据",
            gender="female",
            birth_date=date(1980, 1, 1),
            id_card_encrypted="v1.k.x",
            id_card_index=uuid.uuid4().hex,
            id_card_masked="441202********0000",
            phone_encrypted="v1.k.y",
            phone_index=uuid.uuid4().hex,
            phone_masked="138****0000",
            county="gaoyao",
            tracks=tracks,
            languages=["cantonese"],
            status="active",
            company_id=None,
            version=3,
            created_at=now,
            updated_at=now,
        )
    )
    return worker_id


def test_upgrade_keeps_existing_workers(backend: str, tmp_path: Path) -> None:
    with service_database("registry", backend, tmp_path, migrate=False) as url:
        upgrade("registry", url, "0002_identity")
        engine = _engine(url)
        with engine.begin() as connection:
            first = _old_worker(connection, ["maternal_infant", "elderly_care"])
            second = _old_worker(connection, [])
        upgrade("registry", url)
        with engine.connect() as connection:
            tracks = connection.execute(
                sa.text("SELECT worker_id, track FROM worker_tracks ORDER BY track")
            ).all()
            assert {(uuid.UUID(str(w)), t) for w, t in tracks} == {
                (first, "elderly_care"),
                (first, "maternal_infant"),
            }
            history = connection.execute(
                sa.text("SELECT to_status, changed_by FROM worker_status_changes")
            ).all()
            assert sorted(history) == [("active", "system"), ("active", "system")]
            target_groups = connection.execute(
                sa.text("SELECT target_groups FROM workers WHERE id = :id"),
                {"id": second if backend == "postgresql" else second.hex},
            ).scalar_one()
            assert target_groups in ([], "[]")
        engine.dispose()


def test_models_match_the_migrated_schema_and_downgrade_works(backend: str, tmp_path: Path) -> None:
    with service_database("registry", backend, tmp_path) as url:
        engine = _engine(url)
        with engine.connect() as connection:
            # Only the tables this revision owns: other features' tables have their own tests.
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _party_objects}
            )
            assert compare_metadata(context, Base.metadata) == []
            indexes = {i["name"]: i for i in sa.inspect(connection).get_indexes("employments")}
            assert indexes["uq_employments_current_worker"]["unique"]
        engine.dispose()
        config = alembic_config("registry", url)
        command.downgrade(config, "0002_identity")
        engine = _engine(url)
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            assert "companies" not in tables
            assert "employments" not in tables
            columns = {c["name"] for c in sa.inspect(connection).get_columns("workers")}
            assert "target_groups" not in columns
        engine.dispose()
        command.upgrade(config, "head")
