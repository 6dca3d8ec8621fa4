"""GET /api/v1/statistics/stars: the star distribution by assessment year from evaluations made
through the API and a year closed by an officer; the county from the registry's events (a
worker who moves county counts in the new one); period and county filters; bad filters;
officers only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.registry import WorkerUpdated
from services.rating.models import WorkerCounty
from tests.rating.rating_support import YEAR, RatingHarness, officer, worker_account
from tests.support.apps import context, eventually
from tests.support.tokens import bearer

PATH = "/api/v1/statistics/stars"
PROBLEM = "application/problem+json"


async def stars(rating: RatingHarness, **params: str) -> dict[str, list[dict[str, Any]]]:
    response = await rating.get(PATH, officer(), params=params)
    assert response.status_code == 200, response.text
    return {f["key"]: f["rows"] for f in response.json()["figures"]}


async def county_of(rating: RatingHarness, worker_id: uuid.UUID) -> str | None:
    async with context(rating.app).db.read() as session:
        row = await session.get(WorkerCounty, worker_id)
        return row.county if row else None


async def test_star_statistics(rating: RatingHarness) -> None:
    last = YEAR - 1
    w1 = await rating.register(county="gaoyao")
    w2 = await rating.register(county="sihui")
    w3 = await rating.register(county="sihui")
    moved = WorkerUpdated(
        worker_id=str(w3),
        name="陈秀英",
        county="gaoyao",
        tracks=["housekeeping"],
        languages=["cantonese"],
        education=None,
        target_groups=[],
        health_check_valid_until=None,
        no_criminal_record_valid_until=None,
        updated_at=datetime.now(UTC),
    )
    await rating.peer.publish(moved)
    assert await eventually(lambda: _is(rating, w3, "gaoyao"))
    # Self-evaluations only: the score is the self score, capped at 3 stars without reviews
    # from others (policy v1: min_reviews 1, capped_max_stars 3).
    for worker, year, score in ((w1, last, 95), (w2, last, 65), (w3, last, 75), (w1, YEAR, 62)):
        made = await rating.rate(worker_account(worker), worker, year=year, score=score)
        assert made.status_code == 201, made.text
    closed = await rating.client.post(
        f"/api/v1/assessments/years/{last}/close", headers=dict(officer())
    )
    assert closed.status_code == 200, closed.text

    got = await stars(rating)
    assert got["stars_by_year"] == [
        {"year": last, "stars": 2, "value": 1},
        {"year": last, "stars": 3, "value": 2},
    ]
    assert got["provisional_stars_by_year"] == [{"year": YEAR, "stars": 2, "value": 1}]
    got = await stars(rating, county="gaoyao")
    assert got["stars_by_year"] == [{"year": last, "stars": 3, "value": 2}]
    assert got["provisional_stars_by_year"] == [{"year": YEAR, "stars": 2, "value": 1}]
    got = await stars(rating, county="sihui")
    assert got["stars_by_year"] == [{"year": last, "stars": 2, "value": 1}]
    assert got["provisional_stars_by_year"] == []
    got = await stars(rating, **{"from": f"{YEAR}-01"})
    assert got["stars_by_year"] == [] and got["provisional_stars_by_year"] != []
    got = await stars(rating, to=f"{last}-12")
    assert len(got["stars_by_year"]) == 2 and got["provisional_stars_by_year"] == []

    english = await rating.get(PATH, officer(), headers={"Accept-Language": "en"})
    assert english.json()["figures"][0]["title"] == "Star levels by assessment year"
    for params, status in (
        ({"county": "macau"}, 422),
        ({"from": "2026-1"}, 422),
        ({"from": "2026-02", "to": "2025-12"}, 400),
    ):
        refused = await rating.get(PATH, officer(), params=params)
        assert (refused.status_code, refused.headers["content-type"]) == (status, PROBLEM)
    assert (await rating.get(PATH, None)).status_code == 401
    for role in ("worker", "company", "employer", "partner"):
        refused = await rating.get(PATH, bearer(role, uuid.uuid4()))
        assert (refused.status_code, refused.headers["content-type"]) == (403, PROBLEM)


async def _is(rating: RatingHarness, worker_id: uuid.UUID, county: str) -> bool:
    return await county_of(rating, worker_id) == county
