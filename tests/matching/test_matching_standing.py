"""Credit standing in matching: the level, the card and the list are three fields from three
kinds of events, each ordered by its own producer time. A card event stamped later than a level
event of the same credit transaction (credit's repair: the black entry ends, the card turns
green, then the level is recomputed) must not make that level look stale. Revision c7a4e2d9f105
gives each field its time."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.kit.db import Database
from services.kit.migrate import alembic_config, sync_url, upgrade
from services.matching import service
from services.matching.models import Base, Candidate
from tests.matching.matching_support import at
from tests.support.databases import service_database

BEFORE = "dde87c88138a"


async def test_each_standing_field_keeps_its_own_order(matching_db: Database) -> None:
    worker = uuid.uuid4()

    async def standing() -> tuple[str | None, str | None, str | None]:
        async with matching_db.read() as session:
            candidate = await session.get(Candidate, worker)
            assert candidate is not None
            return candidate.credit_level, candidate.card_status, candidate.list_status

    async with matching_db.write() as session:
        apply = service.apply_credit_standing
        assert await apply(session, worker, changed_at=at(1), credit_level="C")
        assert await apply(session, worker, changed_at=at(2), list_status="black")
        assert await apply(session, worker, changed_at=at(3), card_status="red")
        # Credit's repair, in its outbox order: list ended, card green (stamped later), level.
        assert await apply(session, worker, changed_at=at(10), list_ended="black")
        assert await apply(session, worker, changed_at=at(11), card_status="green")
        assert await apply(session, worker, changed_at=at(10), credit_level="B")
    assert await standing() == ("B", "green", None)

    # A late, older event of a field still loses to that field's newer one.
    async with matching_db.write() as session:
        assert not await apply(session, worker, changed_at=at(9), credit_level="D")
        assert not await apply(session, worker, changed_at=at(9), card_status="red")
        assert not await apply(session, worker, changed_at=at(9), list_status="black")
    assert await standing() == ("B", "green", None)


def _candidates(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) == "candidates"


def test_standing_times_migration(backend: str, tmp_path: Path) -> None:
    with service_database("matching", backend, tmp_path, migrate=False) as url:
        upgrade("matching", url, BEFORE)
        engine = sa.create_engine(sync_url(url))
        worker = uuid.uuid4()
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO candidates (worker_id, credit_level, standing_changed_at,"
                    " open_engagements, finished_engagements, version, created_at, updated_at)"
                    " VALUES (:id, 'B', :t, 0, 0, 1, :t, :t)"
                ),
                {"id": worker.hex if backend == "sqlite" else str(worker), "t": at(5)},
            )
        engine.dispose()
        upgrade("matching", url)
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _candidates}
            )
            assert compare_metadata(context, Base.metadata) == []
            [row] = connection.execute(
                sa.text(
                    "SELECT credit_level_changed_at, card_status_changed_at,"
                    " list_status_changed_at FROM candidates"
                )
            ).all()
            assert len({str(value) for value in row}) == 1 and row[0] is not None
        engine.dispose()
        config = alembic_config("matching", url)
        command.downgrade(config, BEFORE)
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("candidates")}
            assert "standing_changed_at" in columns and "credit_level_changed_at" not in columns
        engine.dispose()
        command.upgrade(config, "head")
