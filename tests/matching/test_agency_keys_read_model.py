"""Matching's read model of the agencies' signing keys (``kit_agency_keys``, revision
f1c8d2a4b609, from ``registry.agency_key.changed``): the latest change of a key wins, an older
one arriving late is ignored, only the agency's active keys verify its files, and the
migration matches the table and goes back down."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.kit import agency_keys
from services.kit.db import Database
from services.kit.errors import Problem
from services.kit.migrate import alembic_config, sync_url, upgrade
from tests.support.agency_keys import agency_key
from tests.support.databases import service_database

BEFORE = "e6a2b3c4d507"


async def test_latest_change_wins_and_only_active_keys_verify(matching_db: Database) -> None:
    platform, other = uuid.uuid4(), uuid.uuid4()
    key, theirs = agency_key(platform), agency_key(other)
    registered, revoked = key.changed(), key.changed("revoked", later=5)
    content = b'{"jobs": []}'
    async with matching_db.write() as session:
        await agency_keys.record(session, registered)
        await agency_keys.record(session, theirs.changed())
    async with matching_db.read() as session:
        assert set(await agency_keys.active_keys(session, platform)) == {key.kid}
        kid = await agency_keys.verify_agency_signature(
            session, platform, key.sign(content), content
        )
        assert kid == key.kid
        with pytest.raises(Problem) as other_agency:
            await agency_keys.verify_agency_signature(
                session, platform, theirs.sign(content), content
            )
        assert (other_agency.value.status, other_agency.value.slug) == (403, "forbidden")
    async with matching_db.write() as session:
        await agency_keys.record(session, revoked)
        await agency_keys.record(session, registered)  # redelivered late: ignored
    async with matching_db.read() as session:
        assert await agency_keys.active_keys(session, platform) == {}
        with pytest.raises(Problem) as refused:
            await agency_keys.verify_agency_signature(session, platform, key.sign(content), content)
        assert (refused.value.status, refused.value.slug) == (403, "forbidden")
        with pytest.raises(Problem) as unsigned:
            await agency_keys.verify_agency_signature(session, platform, None, content)
        assert (unsigned.value.status, unsigned.value.slug) == (401, "invalid-signature")


def _keys_table(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) == agency_keys.TABLE


def test_agency_keys_migration(backend: str, tmp_path: Path) -> None:
    with service_database("matching", backend, tmp_path, migrate=False) as url:
        upgrade("matching", url)
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _keys_table}
            )
            assert compare_metadata(context, agency_keys.agency_key_metadata) == []
        engine.dispose()
        config = alembic_config("matching", url)
        command.downgrade(config, BEFORE)
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as connection:
            assert agency_keys.TABLE not in sa.inspect(connection).get_table_names()
        engine.dispose()
        command.upgrade(config, "head")
