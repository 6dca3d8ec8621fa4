"""Matching's certificates on the plain driver (services.matching.driver_batch) leave what
the session's batch leaves: certificates, candidate versions and the per-track ranks; and the
subscription runs them there, through the inbox. Real SQLite files and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, select

from contracts.envelope import envelope_for
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.matching import driver_batch
from services.matching.handlers import (
    SUBSCRIPTIONS,
    handle_certificates_issued,
    handle_worker_event,
)
from services.matching.models import Candidate, CandidateCertificate, TrackRank
from tests.matching.matching_support import certificate_issued, worker_registered

_TABLES = (
    "candidate_track_ranks",
    "candidate_certificates",
    "candidate_declared_tracks",
    "candidates",
)


async def _state(db: Database) -> dict[str, Any]:
    async with db.read() as session:
        certificates = (
            await session.execute(
                select(
                    CandidateCertificate.certificate_id,
                    CandidateCertificate.worker_id,
                    CandidateCertificate.number,
                    CandidateCertificate.track,
                    CandidateCertificate.valid_until,
                )
            )
        ).all()
        versions = (await session.execute(select(Candidate.worker_id, Candidate.version))).all()
        ranks = (
            await session.execute(
                select(
                    TrackRank.worker_id,
                    TrackRank.track,
                    TrackRank.base_score,
                    TrackRank.eligible,
                    TrackRank.policy_version,
                )
            )
        ).all()
    return {
        "certificates": sorted(map(tuple, certificates)),
        "versions": sorted(map(tuple, versions)),
        "ranks": sorted(map(tuple, ranks)),
    }


async def _forget(db: Database) -> None:
    async with db.write() as session:
        for table in _TABLES:
            await session.execute(CandidateCertificate.__table__.metadata.tables[table].delete())


async def _register(db: Database, workers: list[uuid.UUID]) -> None:
    async with db.write() as session:
        for worker in workers:
            data = worker_registered(worker)
            await handle_worker_event(session, envelope_for(data), data)


async def test_the_driver_leaves_what_the_session_batch_leaves_ranks_included(
    matching_db: Database,
) -> None:
    named = [uuid.uuid4() for _ in range(3)]  # registered: named, with declared tracks
    unknown = uuid.uuid4()  # a certificate first: the candidate is created by it, unnamed
    events = [certificate_issued(w) for w in [*named, unknown]]
    events += [certificate_issued(named[0]), events[1]]  # a second one, and a repeat
    pairs = [(envelope_for(d), d) for d in events]

    await _register(matching_db, named)
    async with matching_db.write() as session:
        await handle_certificates_issued(session, pairs)
    in_session = await _state(matching_db)

    await _forget(matching_db)
    await _register(matching_db, named)
    through_session: list[str] = []

    def on_session(*args: object) -> None:
        through_session.append(str(args[2]))

    engine = matching_db.write_engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_session)
    try:
        async with matching_db.transaction() as tx:
            assert await driver_batch.add_certificates_on_driver(tx, pairs) is None
    finally:
        event.remove(engine, "before_cursor_execute", on_session)
    on_driver = await _state(matching_db)
    assert through_session == [], "every statement went to the driver"
    assert on_driver == in_session
    assert {w for w, *_ in on_driver["ranks"]} == set(named), "named workers are ranked"
    assert dict(on_driver["versions"])[named[0]] == 3  # registered, then two certificates

    # Redelivered whole: nothing changes.
    async with matching_db.transaction() as tx:
        await driver_batch.add_certificates_on_driver(tx, pairs)
    assert await _state(matching_db) == on_driver


async def test_the_subscription_applies_certificates_on_the_driver(
    matching_db: Database,
) -> None:
    workers = [uuid.uuid4() for _ in range(4)]
    await _register(matching_db, workers)
    pairs = [(envelope_for(d), d) for d in (certificate_issued(w) for w in workers)]
    subscription = next(s for s in SUBSCRIPTIONS if s.name == "matching-certificates")
    runner = ConsumerRunner(subscription, matching_db, Bus("nats://127.0.0.1:1", name="t"))
    sent: list[str] = []
    matching_db.statement_observers.append(sent.append)
    try:
        assert await runner.apply_many(pairs) == 4
        assert await runner.apply_many(pairs) == 0  # seen: skipped
    finally:
        matching_db.statement_observers.remove(sent.append)
    state = await _state(matching_db)
    assert len(state["certificates"]) == 4
    assert {w for w, *_ in state["ranks"]} == set(workers)
    assert any(s.startswith("INSERT INTO candidate_certificates") for s in sent), sent
