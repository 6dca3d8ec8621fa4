"""Suspended partners and agencies (services.kit.suspensions, issue 16): the table keeps each
party's latest standing, the in-memory set follows it (after this process's commits at once,
other processes' within the refresh interval), and the token verifier refuses a suspended
party's token, remembered or not, with 401 problem+json; people's tokens never depend on it.
Each service's migrations create the table as the kit declares it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.envelope import envelope_for
from contracts.registry import AgencyStatusChanged, PartnerStatusChanged
from services.kit.auth import SigningKeys, StaticKeySource, TokenIssuer, TokenVerifier
from services.kit.db import Database
from services.kit.errors import Problem
from services.kit.migrate import sync_url
from services.kit.principal import Principal
from services.kit.settings import SERVICES
from services.kit.suspensions import (
    TABLE,
    Suspensions,
    handle_standing_changed,
    party_standing,
    record,
    standing_metadata,
)
from tests.kit.schema_db import database_with
from tests.support.apps import eventually
from tests.support.databases import service_database

ISSUER = "jiasao-test"
AUDIENCE = "jiasao-test-api"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_with(backend, tmp_path, standing_metadata, "suspensions") as database:
        yield database


async def apply(db: Database, event: PartnerStatusChanged | AgencyStatusChanged) -> None:
    """Through the consumer's handler, in a write transaction as the inbox runs it."""
    async with db.write() as session:
        await handle_standing_changed(session, envelope_for(event), event)


def partner(party_id: uuid.UUID, role: str = "partner") -> Principal:
    return Principal(subject="client-1", role=role, party_id=party_id)  # type: ignore[arg-type]


async def test_the_set_follows_commits_at_once_and_ignores_late_older_changes(
    db: Database,
) -> None:
    suspensions = Suspensions(refresh_interval=3600)
    await suspensions.start(db)
    try:
        acme, other = uuid.uuid4(), uuid.uuid4()
        suspensions.check(partner(acme))  # nothing suspended: passes
        await apply(
            db, PartnerStatusChanged(partner_id=str(acme), status="suspended", changed_at=T0)
        )
        with pytest.raises(Problem) as refused:
            suspensions.check(partner(acme))
        assert refused.value.status == 401 and refused.value.slug == "unauthorized"
        assert refused.value.headers == {"WWW-Authenticate": 'Bearer realm="jiasao"'}
        assert "suspended" in (refused.value.detail or "")
        suspensions.check(partner(other))
        # The same id as an agency is another party.
        suspensions.check(partner(acme, "agency"))
        # People's tokens are never refused by it, whatever their party id.
        suspensions.check(Principal(subject="a", role="worker", party_id=acme))

        # An older change arriving late (a reordered redelivery) changes nothing.
        late = PartnerStatusChanged(
            partner_id=str(acme), status="active", changed_at=T0 - timedelta(minutes=1)
        )
        await apply(db, late)
        with pytest.raises(Problem):
            suspensions.check(partner(acme))
        async with db.read() as session:
            [row] = (await session.execute(sa.select(party_standing))).all()
        assert (row.role, row.party_id, row.status) == ("partner", str(acme), "suspended")

        reactivated = PartnerStatusChanged(
            partner_id=str(acme), status="active", changed_at=T0 + timedelta(minutes=5)
        )
        await apply(db, reactivated)
        suspensions.check(partner(acme))

        agency = uuid.uuid4()
        await apply(
            db, AgencyStatusChanged(agency_id=str(agency), status="suspended", changed_at=T0)
        )
        with pytest.raises(Problem):
            suspensions.check(partner(agency, "agency"))
        suspensions.check(partner(agency))  # a partner with that id is not the agency
    finally:
        await suspensions.stop()


async def test_another_process_follows_within_the_refresh_interval(db: Database) -> None:
    """Replicas share the durable consumer: the one that did not apply the event learns it
    from the table (its own Database, as another process would have)."""
    replica_db = Database(db.url)
    applier, replica = Suspensions(refresh_interval=3600), Suspensions(refresh_interval=0.05)
    await applier.start(db)
    await replica.start(replica_db)
    try:
        acme = uuid.uuid4()
        await apply(
            db, PartnerStatusChanged(partner_id=str(acme), status="suspended", changed_at=T0)
        )
        assert ("partner", str(acme)) in applier

        async def refused() -> bool:
            return ("partner", str(acme)) in replica

        await eventually(refused)
        later = T0 + timedelta(seconds=1)
        await apply(
            db, PartnerStatusChanged(partner_id=str(acme), status="active", changed_at=later)
        )

        async def allowed() -> bool:
            return ("partner", str(acme)) not in replica

        await eventually(allowed)
    finally:
        await applier.stop()
        await replica.stop()
        await replica_db.dispose()


async def test_until_it_is_loaded_scoped_tokens_wait(tmp_path: Path) -> None:
    """Deny by default: a process whose first load failed (no table yet, or its database
    away) answers partner and agency tokens 503 to retry; people's tokens pass; once the
    table is there the refresh loads it."""
    path = tmp_path / "late.db"
    late = Database(f"sqlite+aiosqlite:///{path}")
    suspensions = Suspensions(refresh_interval=0.05)
    await suspensions.start(late)
    try:
        with pytest.raises(Problem) as waiting:
            suspensions.check(partner(uuid.uuid4()))
        assert waiting.value.status == 503 and waiting.value.slug == "service-unavailable"
        suspensions.check(Principal(subject="a", role="officer"))
        async with late.write_engine.begin() as connection:
            await connection.run_sync(standing_metadata.create_all)

        async def loaded() -> bool:
            return suspensions.loaded

        await eventually(loaded)
        suspensions.check(partner(uuid.uuid4()))
    finally:
        await suspensions.stop()
        await late.dispose()


async def test_the_verifier_refuses_a_remembered_token_of_a_suspended_partner(
    db: Database,
) -> None:
    keys = SigningKeys("k1", {"k1": Ed25519PrivateKey.generate()})
    issuer = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE, ttl=300)
    verifier = TokenVerifier(StaticKeySource(keys.public_keys()), issuer=ISSUER, audience=AUDIENCE)
    suspensions = Suspensions(refresh_interval=3600)
    verifier.standing = suspensions
    await suspensions.start(db)
    try:
        acme = uuid.uuid4()
        token, _ = issuer.issue(
            subject="client-1", role="partner", party_id=acme, scopes=["candidates:read"]
        )
        assert (await verifier.verify(token)).party_id == acme
        assert token in verifier._verified  # remembered: the next call skips the signature
        await apply(
            db, PartnerStatusChanged(partner_id=str(acme), status="suspended", changed_at=T0)
        )
        with pytest.raises(Problem) as refused:
            await verifier.verify(token)
        assert refused.value.status == 401
        later = T0 + timedelta(seconds=1)
        await apply(
            db, PartnerStatusChanged(partner_id=str(acme), status="active", changed_at=later)
        )
        assert (await verifier.verify(token)).party_id == acme
    finally:
        await suspensions.stop()


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_migrates_the_table_as_declared(
    service: str, backend: str, tmp_path: Path
) -> None:
    with service_database(service, backend, tmp_path) as url:
        engine = sa.create_engine(sync_url(url))
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(
                    connection,
                    opts={
                        "compare_type": True,
                        "include_name": lambda name, kind, _parent: (
                            kind != "table" or name == TABLE
                        ),
                    },
                )
                assert sa.inspect(connection).has_table(TABLE)
                assert compare_metadata(context, standing_metadata) == []
        finally:
            engine.dispose()


async def test_record_reports_whether_it_changed_anything(db: Database) -> None:
    acme = str(uuid.uuid4())
    async with db.write() as session:
        assert await record(session, "partner", acme, "suspended", T0)
        assert not await record(session, "partner", acme, "active", T0 - timedelta(seconds=1))
