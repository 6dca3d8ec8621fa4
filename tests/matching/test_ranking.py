"""The ranked match walk is exact: the same top k as scoring every candidate, whatever the
batch size, with the hard filters applied (database only, no bus)."""

from __future__ import annotations

import random
import uuid
from datetime import date

import pytest
from sqlalchemy import delete, select

from services.kit.db import Database
from services.matching import queries, ranking, service
from services.matching.models import Candidate, TrackRank
from services.matching.policy import current_policy, total
from services.matching.recruitment.models import Job
from tests.matching.matching_support import at

AS_OF = date(2026, 6, 1)


def job(**overrides: object) -> Job:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "poster_role": "employer",
        "poster_party_id": uuid.uuid4(),
        "poster_account_id": "a",
        "partner_id": None,
        "track": "housekeeping",
        "city": "zhaoqing",
        "district": "gaoyao",
        "live_in": False,
        "pay_max": 7000,
        "languages": ["cantonese", "mandarin"],
        "certificate_required": False,
        "min_stars": None,
    }
    values.update(overrides)
    return Job(**values)


async def seed(db: Database, count: int) -> list[uuid.UUID]:
    rng = random.Random(7)
    ids = []
    async with db.write() as session:
        for index in range(count):
            worker = uuid.UUID(int=index + 1)
            ids.append(worker)
            if True:
                await service.apply_registration(
                    session,
                    worker,
                    name=f"w{index}",
                    county=rng.choice(["gaoyao", "duanzhou", "other"]),
                    tracks=["housekeeping"] if rng.random() < 0.8 else ["elderly_care"],
                    status="active",
                    registered_at=at(0),
                    languages=rng.choice(
                        [["cantonese"], ["mandarin"], ["cantonese", "mandarin"], []]
                    ),
                )
                if rng.random() < 0.7:
                    await service.apply_rating(
                        session, worker, year=2026, stars=rng.randint(1, 5), changed_at=at(1)
                    )
                if rng.random() < 0.4:
                    expired = rng.random() < 0.3
                    await service.add_certificate(
                        session,
                        worker,
                        certificate_id=uuid.uuid4(),
                        number=f"ZQJS-2026-{index:06d}",
                        kind="training",
                        track=rng.choice(["housekeeping", "elderly_care"]),
                        issued_at=at(1),
                        valid_until=date(2026, 1, 1) if expired else None,
                    )
                if rng.random() < 0.3:
                    await service.apply_credit_standing(
                        session, worker, changed_at=at(2), credit_level=rng.choice("ABCD")
                    )
                if rng.random() < 0.3:
                    await service.set_preferences(
                        session,
                        worker,
                        preferred_cities=["shenzhen"],
                        expected_pay_min=rng.choice([5000, 9000]),
                        accepts_live_in=rng.choice([True, False]),
                    )
                if rng.random() < 0.05:
                    await service.apply_status(
                        session, worker, status="suspended", changed_at=at(3)
                    )
                if rng.random() < 0.05:
                    await service.apply_credit_standing(
                        session, worker, changed_at=at(4), list_status="red"
                    )
    return ids


async def brute_force(db: Database, the_job: Job, k: int) -> list[tuple[float, uuid.UUID]]:
    async with db.read() as session:
        policy = await current_policy(session)
        ids = list((await session.scalars(select(Candidate.worker_id))).all())
        views = await queries.load_views(session, ids)
    scored = []
    for view in views.values():
        candidate = view.candidate
        if not ranking.is_eligible(policy.weights, candidate):
            continue
        if not ranking.job_passes(policy.weights, view, the_job, AS_OF, set()):
            continue
        if candidate.open_engagements:
            continue
        reasons = ranking.score_for_job(policy.weights, view, the_job, AS_OF)
        scored.append((total(reasons), candidate.worker_id))
    # Best first; equal scores: the higher worker id first.
    return sorted(scored, reverse=True)[:k]


async def test_the_walk_finds_the_same_top_as_scoring_everyone(
    matching_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(matching_db, 80)
    monkeypatch.setattr(ranking, "BATCH", 7)  # many small steps down the ordering
    jobs = [
        job(),
        job(city="shenzhen", district="nanshan", live_in=True, pay_max=9500),
        job(certificate_required=True, min_stars=3, languages=[]),
    ]
    async with matching_db.read() as session:
        policy = await current_policy(session)
    for the_job in jobs:
        async with matching_db.read() as session:
            best, read = await ranking.match_job(session, the_job, policy, as_of=AS_OF, limit=10)
        expected = await brute_force(matching_db, the_job, 10)
        assert [(s.score, s.worker_id) for s in best] == expected
        assert read <= 80


async def test_a_suspension_or_the_black_list_takes_the_worker_out_of_the_ordering(
    matching_db: Database,
) -> None:
    worker = uuid.uuid4()
    async with matching_db.write() as session:
        await service.apply_registration(
            session,
            worker,
            name="甲",
            county="gaoyao",
            tracks=["housekeeping"],
            status="active",
            registered_at=at(0),
        )

    async def eligible() -> bool:
        async with matching_db.read() as session:
            rank = await session.get(TrackRank, (worker, "housekeeping"))
        assert rank is not None
        return rank.eligible

    assert await eligible()
    async with matching_db.write() as session:
        assert await service.apply_status(session, worker, status="suspended", changed_at=at(5))
        # An older status arriving late does not undo the suspension.
        assert not await service.apply_status(session, worker, status="active", changed_at=at(4))
    assert not await eligible()
    async with matching_db.write() as session:
        await service.apply_status(session, worker, status="active", changed_at=at(6))
    assert await eligible()
    async with matching_db.write() as session:
        await service.apply_credit_standing(session, worker, changed_at=at(7), list_status="black")
    assert not await eligible()
    async with matching_db.write() as session:
        assert not await service.apply_credit_standing(
            session, worker, changed_at=at(6), list_status="none"
        )
    assert not await eligible()


async def test_a_red_listed_worker_ranks_first_while_listed(matching_db: Database) -> None:
    """Issue 7: a worker on credit's red list (诚信红名单) ranks above every other candidate,
    whatever their stars, level and certificates, with the ``red_list`` reason (the guarantee
    mark); when the entry ends they take their own place again."""
    strong, weak = uuid.uuid4(), uuid.uuid4()
    async with matching_db.write() as session:
        for worker, county in ((strong, "gaoyao"), (weak, "other")):
            await service.apply_registration(
                session,
                worker,
                name="甲",
                county=county,
                tracks=["housekeeping"],
                status="active",
                registered_at=at(0),
                languages=["cantonese", "mandarin"] if worker == strong else [],
            )
        await service.apply_rating(session, strong, year=2026, stars=5, changed_at=at(1))
        await service.add_certificate(
            session,
            strong,
            certificate_id=uuid.uuid4(),
            number="ZQJS-2026-000001",
            kind="training",
            track="housekeeping",
            issued_at=at(1),
            valid_until=None,
        )
        await service.apply_credit_standing(session, strong, changed_at=at(2), credit_level="A")
        await service.apply_credit_standing(session, weak, changed_at=at(2), credit_level="C")

    async def ranked() -> list[tuple[uuid.UUID, list[str]]]:
        async with matching_db.read() as session:
            policy = await current_policy(session)
            best, _ = await ranking.match_job(session, job(), policy, as_of=AS_OF, limit=5)
        return [(s.worker_id, [r.factor for r in s.reasons]) for s in best]

    assert [w for w, _ in await ranked()] == [strong, weak]
    async with matching_db.write() as session:
        await service.apply_credit_standing(session, weak, changed_at=at(3), list_status="red")
    [(first, reasons), (second, _)] = await ranked()
    assert (first, second) == (weak, strong) and "red_list" in reasons
    async with matching_db.write() as session:
        await service.apply_credit_standing(session, weak, changed_at=at(4), list_ended="red")
    assert [w for w, _ in await ranked()] == [strong, weak]


async def test_candidates_from_before_the_ordering_are_ranked_once(matching_db: Database) -> None:
    """What the app does at start: rank rows stored before the ordering existed; a candidate
    with no track has nothing to rank and is not picked again and again."""
    ranked_later, trackless = uuid.uuid4(), uuid.uuid4()
    async with matching_db.write() as session:
        for worker, tracks in ((ranked_later, ["elderly_care"]), (trackless, [])):
            await service.apply_registration(
                session,
                worker,
                name="甲",
                county="gaoyao",
                tracks=tracks,
                status="active",
                registered_at=at(0),
            )
        await session.execute(delete(TrackRank))
    async with matching_db.write() as session:
        assert await ranking.rebuild_missing_ranks(session) == 1
    async with matching_db.write() as session:
        assert await ranking.rebuild_missing_ranks(session) == 0
    async with matching_db.read() as session:
        ranks = (await session.scalars(select(TrackRank))).all()
    assert [(r.worker_id, r.track, r.eligible) for r in ranks] == [
        (ranked_later, "elderly_care", True)
    ]


def test_the_red_list_outweighs_every_other_factor_together() -> None:
    """A red-listed worker ranks first: the policy refuses a ``red_list`` that other factors
    could reach (0 turns the factor off)."""
    from pydantic import ValidationError

    from services.matching.policy import POLICY_V1, Weights

    weights = Weights.model_validate(POLICY_V1)  # stored before the factor: the default
    assert weights.red_list == 200 > weights.max_other_points() == 106
    assert Weights.model_validate({**POLICY_V1, "red_list": 0}).red_list == 0
    with pytest.raises(ValidationError, match="red_list must be 0 or above 106"):
        Weights.model_validate({**POLICY_V1, "red_list": 106})


def test_points_equal_the_reasons_totals() -> None:
    """The walk scores with base_points/job_points and explains with the reasons: the two
    must agree to the hundredth for any candidate, job and weights."""
    from types import SimpleNamespace

    from services.matching.policy import (
        POLICY_V1,
        Weights,
        base_points,
        base_reasons,
        hundredths,
        job_points,
        job_reasons,
    )

    rng = random.Random(11)
    for round_ in range(3000):
        raw = dict(POLICY_V1)
        if round_ % 2:  # fractional weights too
            for key in ("stars_per_star", "certificate_other", "language_full", "same_city"):
                raw[key] = round(rng.uniform(0, 9), 2)
        weights = Weights.model_validate(raw)
        candidate = SimpleNamespace(
            stars=rng.choice([None, 0, 1, 3, 5]),
            rating_year=2026,
            credit_level=rng.choice([None, "A", "B", "C", "D", "X"]),
            finished_engagements=rng.choice([None, 0, 1, 9]),
            county=rng.choice([None, "gaoyao", "duanzhou", "other"]),
            preferred_cities=rng.choice([None, [], ["shenzhen"], ["guangzhou", "zhaoqing"]]),
            languages=rng.choice([None, [], ["cantonese"], ["mandarin", "hakka"]]),
            expected_pay_min=rng.choice([None, 3000, 8000]),
            list_status=rng.choice([None, "red", "black"]),
        )
        certificates = [
            SimpleNamespace(
                track=rng.choice([None, "housekeeping", "elderly_care"]),
                number=f"N{i}",
                valid_until=rng.choice([None, date(2026, 1, 1), date(2027, 1, 1)]),
            )
            for i in range(rng.choice([0, 1, 2, 5]))
        ]
        as_of = rng.choice([None, AS_OF])
        place = {
            "city": rng.choice(["zhaoqing", "shenzhen", "guangzhou"]),
            "district": rng.choice([None, "gaoyao", "duanzhou"]),
            "languages": rng.choice([[], ["cantonese"], ["cantonese", "mandarin", "hakka"]]),
            "pay_max": rng.choice([None, 5000, 9000]),
        }
        args = (weights, candidate, certificates, "housekeeping", as_of)
        assert base_points(*args) == hundredths(total(base_reasons(*args)))  # type: ignore[arg-type]
        assert job_points(weights, candidate, **place) == hundredths(  # type: ignore[arg-type]
            total(job_reasons(weights, candidate, **place))  # type: ignore[arg-type]
        )
