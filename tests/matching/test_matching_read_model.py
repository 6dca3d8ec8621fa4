"""The read-model rules applied directly to matching's database (no bus): ordering of facts,
idempotence, certificate validity and the ranking query."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from services.kit.db import Database
from services.matching import queries, service
from services.matching.cursor import SortKey
from services.matching.models import Candidate, CandidateCertificate
from tests.matching.matching_support import at

TODAY = date(2026, 6, 1)


async def register(db: Database, worker: uuid.UUID, name: str = "甲", **kw: object) -> None:
    values: dict[str, object] = {
        "name": name,
        "county": "gaoyao",
        "tracks": ["housekeeping"],
        "status": "registered",
        "registered_at": at(0),
    }
    values.update(kw)
    async with db.write() as session:
        await service.apply_registration(session, worker, **values)  # type: ignore[arg-type]


async def certify(
    db: Database, worker: uuid.UUID, track: str | None, valid_until: date | None = None
) -> uuid.UUID:
    certificate_id = uuid.uuid4()
    async with db.write() as session:
        await service.add_certificate(
            session,
            worker,
            certificate_id=certificate_id,
            number=f"ZQJS-2026-{certificate_id.int % 1_000_000:06d}",
            kind="training",
            track=track,
            issued_at=at(1),
            valid_until=valid_until,
        )
    return certificate_id


async def rate(db: Database, worker: uuid.UUID, stars: int, year: int, minute: int) -> bool:
    async with db.write() as session:
        return await service.apply_rating(
            session, worker, year=year, stars=stars, changed_at=at(minute)
        )


async def candidate(db: Database, worker: uuid.UUID) -> Candidate:
    async with db.read() as session:
        row = await session.get(Candidate, worker)
    assert row is not None
    return row


async def ranked(db: Database, track: str, **kw: object) -> list[SortKey]:
    async with db.read() as session:
        return await queries.rank(session, track, as_of=TODAY, limit=100, **kw)  # type: ignore[arg-type]


async def test_a_registration_behind_a_newer_update_keeps_the_update(
    matching_db: Database,
) -> None:
    worker = uuid.uuid4()
    async with matching_db.write() as session:
        assert await service.apply_profile_update(
            session, worker, name="新", county="deqing", tracks=["elderly_care"], updated_at=at(9)
        )
    await register(matching_db, worker, name="旧", tracks=["housekeeping"])
    row = await candidate(matching_db, worker)
    assert (row.name, row.county, row.status) == ("新", "deqing", "registered")
    async with matching_db.read() as session:
        view = await queries.get_view(session, worker)
    assert view is not None and view.declared_tracks == ["elderly_care"]


async def test_a_repeated_registration_changes_nothing(matching_db: Database) -> None:
    worker = uuid.uuid4()
    await register(matching_db, worker)
    before = await candidate(matching_db, worker)
    await register(matching_db, worker)
    after = await candidate(matching_db, worker)
    assert (after.version, after.updated_at) == (before.version, before.updated_at)


async def test_ratings_are_ordered_by_changed_at_then_year(matching_db: Database) -> None:
    worker = uuid.uuid4()
    assert await rate(matching_db, worker, 4, 2026, minute=10)
    assert not await rate(matching_db, worker, 2, 2026, minute=5)
    assert not await rate(matching_db, worker, 1, 2025, minute=10)
    assert await rate(matching_db, worker, 3, 2027, minute=10)
    row = await candidate(matching_db, worker)
    assert (row.stars, row.rating_year) == (3, 2027)
    assert row.name is None  # still a placeholder: ratings never name anyone


async def test_a_certificate_is_recorded_once(matching_db: Database) -> None:
    worker = uuid.uuid4()
    certificate_id = await certify(matching_db, worker, "housekeeping")
    version = (await candidate(matching_db, worker)).version
    async with matching_db.write() as session:
        again = await service.add_certificate(
            session,
            worker,
            certificate_id=certificate_id,
            number="ZQJS-2026-999999",
            kind="training",
            track="housekeeping",
            issued_at=at(1),
            valid_until=None,
        )
    assert again is False
    assert (await candidate(matching_db, worker)).version == version
    async with matching_db.read() as session:
        count = await session.scalar(select(func.count()).select_from(CandidateCertificate))
    assert count == 1


async def test_placeholders_are_never_ranked_or_shown(matching_db: Database) -> None:
    worker = uuid.uuid4()
    await certify(matching_db, worker, "housekeeping")
    assert await ranked(matching_db, "housekeeping") == []
    async with matching_db.read() as session:
        assert await queries.get_view(session, worker) is None


async def test_expired_certificates_do_not_certify_or_count(matching_db: Database) -> None:
    expired, lapsing_today, lasting = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for worker in (expired, lapsing_today, lasting):
        await register(matching_db, worker, tracks=["elderly_care"])
    await certify(matching_db, expired, "housekeeping", valid_until=date(2026, 5, 31))
    await certify(matching_db, lapsing_today, "housekeeping", valid_until=TODAY)
    await certify(matching_db, lasting, "housekeeping", valid_until=None)
    await certify(matching_db, lasting, None)  # a certificate without a track still counts

    keys = await ranked(matching_db, "housekeeping")
    # The expired holder declared elderly_care only and is certified in nothing valid.
    assert [(k.worker_id, k.certified, k.valid_certificates) for k in keys] == [
        (lasting, 1, 2),
        (lapsing_today, 1, 1),
    ]
    async with matching_db.read() as session:
        view = await queries.get_view(session, expired)
    assert view is not None
    assert view.tracks(TODAY) == {"elderly_care"}
    assert len(view.certificates) == 1  # still listed, with its expiry date


async def test_rank_resumes_strictly_after_a_key(matching_db: Database) -> None:
    workers = sorted(uuid.uuid4() for _ in range(4))
    for worker in workers:
        await register(matching_db, worker)
    await rate(matching_db, workers[3], 5, 2026, minute=1)
    keys = await ranked(matching_db, "housekeeping")
    assert [k.worker_id for k in keys] == [workers[3], workers[0], workers[1], workers[2]]
    for i, key in enumerate(keys):
        assert await ranked(matching_db, "housekeeping", after=key) == keys[i + 1 :]
    assert [k.worker_id for k in await ranked(matching_db, "housekeeping", min_stars=1)] == [
        workers[3]
    ]
