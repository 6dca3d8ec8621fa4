"""Matching's set-based certificate batch (services.matching.batch.add_certificates) leaves
what the one-event path leaves: one row per certificate however often it is named, one
candidate version per new certificate, nothing for one already known."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from contracts.envelope import envelope_for
from services.kit.db import Database
from services.matching.handlers import handle_certificate_issued, handle_certificates_issued
from services.matching.models import Candidate, CandidateCertificate
from tests.matching.matching_support import certificate_issued


async def _state(db: Database) -> dict[str, Any]:
    async with db.read() as session:
        certificates = (
            await session.execute(
                select(
                    CandidateCertificate.certificate_id,
                    CandidateCertificate.worker_id,
                    CandidateCertificate.number,
                )
            )
        ).all()
        versions = (await session.execute(select(Candidate.worker_id, Candidate.version))).all()
    return {"certificates": sorted(map(tuple, certificates)), "versions": sorted(versions)}


async def test_a_batch_records_each_new_certificate_once_and_skips_known_ones(
    matching_db: Database,
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    known = certificate_issued(first)
    async with matching_db.write() as session:  # an earlier batch
        await handle_certificates_issued(session, [(envelope_for(known), known)])
    before = await _state(matching_db)
    assert [v for w, v in before["versions"] if w == first] == [1]

    new_of_first = certificate_issued(first)
    new_of_second = certificate_issued(second)
    batch = [known, new_of_first, new_of_second, new_of_second]  # a redelivery, a repeat
    async with matching_db.write() as session:
        await handle_certificates_issued(session, [(envelope_for(d), d) for d in batch])
    after = await _state(matching_db)
    assert after["certificates"] == sorted(
        [
            (uuid.UUID(d.certificate_id), uuid.UUID(d.worker_id), d.certificate_number)
            for d in (known, new_of_first, new_of_second)
        ]
    )
    # One version per new certificate: the known one and the repeat bump nothing.
    assert dict(after["versions"]) == {first: 2, second: 1}

    # The same batch again (redelivered whole): nothing changes.
    async with matching_db.write() as session:
        await handle_certificates_issued(session, [(envelope_for(d), d) for d in batch])
    assert await _state(matching_db) == after


async def test_a_batch_leaves_what_one_event_at_a_time_leaves(
    matching_db: Database,
) -> None:
    workers = [uuid.uuid4() for _ in range(3)]
    events = [certificate_issued(w) for w in workers] + [certificate_issued(workers[0])]
    async with matching_db.write() as session:
        await handle_certificates_issued(session, [(envelope_for(d), d) for d in events])
    together = await _state(matching_db)
    async with matching_db.write() as session:  # forget them, then one at a time
        for table in ("candidate_track_ranks", "candidate_certificates", "candidates"):
            await session.execute(CandidateCertificate.__table__.metadata.tables[table].delete())
    for data in events:
        async with matching_db.write() as session:
            await handle_certificate_issued(session, envelope_for(data), data)
    alone = await _state(matching_db)
    assert together["certificates"] == alone["certificates"]
    assert together["versions"] == alone["versions"]
