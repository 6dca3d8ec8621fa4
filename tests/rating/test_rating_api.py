"""Rating over HTTP with real NATS and a real database: scores, levels, events, errors."""

from __future__ import annotations

import uuid
from typing import Any

from services.rating.schemas import current_year
from tests.rating.rating_support import (
    YEAR,
    RatingHarness,
    company_staff,
    criteria,
    employer,
    officer,
    worker_account,
)


def problem_fields(response: Any) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


async def test_first_rating_sets_the_level_and_emits_an_event(rating: RatingHarness) -> None:
    worker = await rating.register()
    account = uuid.uuid4()

    response = await rating.review(account, worker, comment="细心")
    assert response.status_code == 201, response.text
    posted = response.json()
    assert posted["score"] == 85.0
    assert posted["criteria"] == {
        name: 85.0 for name in ("skill", "punctuality", "attitude", "safety", "communication")
    }
    assert posted["status"] == "visible" and posted["flags"] == []
    assert posted["comment"] == "细心"
    assert posted["source"] == "employer"
    assert posted["rater_id"] == str(account)
    assert posted["level"] == {"stars": 4, "score": 85.0}
    assert response.headers["location"] == f"/api/v1/ratings/{posted['id']}"

    path = f"/api/v1/workers/{worker}/rating"
    read = await rating.get(path, officer(), params={"year": YEAR})
    assert read.status_code == 200
    level = read.json()
    assert level["stars"] == 4
    assert level["score"] == 85.0
    assert level["sources"] == {"employer": {"count": 1, "mean": 85.0}}
    assert level["worker_id"] == str(worker) and level["year"] == YEAR
    # The year is open: the level is provisional, computed by policy version 1.
    assert level["provisional"] is True and level["policy_version"] == 1
    assert sum(c["points"] for c in level["explanation"]) == 85.0

    unchanged = await rating.get(
        path, officer(), params={"year": YEAR}, headers={"If-None-Match": read.headers["etag"]}
    )
    assert unchanged.status_code == 304

    tap = await rating.tap()  # reads the stream from its start
    [event] = await tap.wait_for(1)
    assert event.type == "jiasao.rating.worker.changed.v1"
    assert event.subject == str(worker)
    assert event.data["worker_id"] == str(worker)
    assert event.data["year"] == YEAR
    assert event.data["stars"] == 4
    assert event.data["previous_stars"] is None
    assert event.data["score"] == 85.0
    assert event.data["provisional"] is True
    assert event.data["policy_version"] == 1


async def test_only_a_change_of_stars_emits_an_event(rating: RatingHarness) -> None:
    company = uuid.uuid4()
    worker = await rating.register(company_id=company)

    first = await rating.review(uuid.uuid4(), worker, score=85)
    assert first.json()["level"]["stars"] == 4
    assert await rating.outbox_count() == 1

    # (0.5·85 + 0.3·83) / 0.8 = 84.25: the score moves, the stars do not, so nothing is news.
    same = await rating.rate(company_staff(company), worker, score=83)
    assert same.status_code == 201, same.text
    assert same.json()["source"] == "company"
    assert same.json()["level"] == {"stars": 4, "score": 84.25}
    assert await rating.outbox_count() == 1  # the event would commit with the score

    # 0.5·85 + 0.3·83 + 0.2·20 = 71.4: down to 3 stars.
    down = await rating.rate(worker_account(worker), worker, score=20)
    assert down.json()["source"] == "self"
    assert down.json()["level"] == {"stars": 3, "score": 71.4}

    # The relay keeps order, so once the second event is in, nothing sits between the two.
    tap = await rating.tap()
    events = await tap.wait_for(2)
    assert [(e.data["stars"], e.data["previous_stars"]) for e in events] == [(4, None), (3, 4)]
    assert events[1].data["score"] == 71.4
    assert len(await tap.poll()) == 2


async def test_each_engagement_and_each_evaluation_counts_once(rating: RatingHarness) -> None:
    """Issue 11: re-posting no longer replaces a score (it did before); a taken slot is 409."""
    company = uuid.uuid4()
    worker = await rating.register(company_id=company)
    account = uuid.uuid4()
    first = await rating.review(account, worker, score=70)
    assert first.status_code == 201
    engagement = first.json()["engagement_id"]

    again = await rating.client.post(
        "/api/v1/ratings",
        json={"worker_id": str(worker), "engagement_id": engagement, "criteria": criteria(95)},
        headers=dict(employer(account)),
    )
    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("/already-rated")
    # A second finished engagement with the same worker is a second review.
    second = await rating.review(account, worker, score=90)
    assert second.status_code == 201, second.text

    assert (await rating.rate(company_staff(company), worker, score=60)).status_code == 201
    assert (await rating.rate(worker_account(worker), worker, score=60)).status_code == 201
    # Another staff account of the same company, a new token of the worker: still taken.
    for headers in (company_staff(company), worker_account(worker)):
        repeat = await rating.rate(headers, worker, score=99)
        assert repeat.status_code == 409, repeat.text
        assert repeat.json()["type"].endswith("/already-rated")

    listed = await rating.get("/api/v1/ratings", officer(), params={"worker_id": str(worker)})
    assert sorted(item["score"] for item in listed.json()["items"]) == [60.0, 60.0, 70.0, 90.0]
    level = (await rating.get(f"/api/v1/workers/{worker}/rating?year={YEAR}", officer())).json()
    assert level["sources"]["employer"] == {"count": 2, "mean": 80.0}

    # Another year is another assessment: its own reviews and evaluations.
    other = await rating.review(account, worker, year=YEAR - 1, score=95)
    assert other.status_code == 201, other.text
    assert other.json()["year"] == YEAR - 1
    assert (await rating.rate(worker_account(worker), worker, year=YEAR - 1)).status_code == 201


async def test_year_defaults_to_the_current_year(rating: RatingHarness) -> None:
    worker = await rating.register()
    response = await rating.client.post(
        "/api/v1/ratings",
        json={"worker_id": str(worker), "score": 85},
        headers=dict(worker_account(worker)),
    )
    assert response.status_code == 201
    assert response.json()["year"] == current_year()
    read = await rating.get(f"/api/v1/workers/{worker}/rating", officer())
    assert read.status_code == 200
    assert read.json()["year"] == current_year()


async def test_self_evaluation_alone_stays_at_three_stars(rating: RatingHarness) -> None:
    worker = await rating.register()
    response = await rating.rate(worker_account(worker), worker, score=98)
    assert response.json()["level"] == {"stars": 3, "score": 98.0}


async def test_invalid_scores_are_422_naming_the_field(rating: RatingHarness) -> None:
    worker = await rating.register()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"score": 80.125}, "score"),
        ({"year": 1999}, "year"),
        # No silent coercion: a boolean or a string is not a number.
        ({"score": True}, "score"),
        ({"score": "87.5"}, "score"),
        ({"year": True}, "year"),
        ({"year": "2026"}, "year"),
        ({"worker_id": "not-a-uuid"}, "worker_id"),
        ({"comment": "好" * 501}, "comment"),
        # Who rates, and as what, is the token's to say.
        ({"source": "employer"}, "source"),
        ({"rater_id": str(uuid.uuid4())}, "rater_id"),
        # A score or criteria, not both, not neither; a review gives criteria, all five.
        ({"criteria": criteria(80)}, "score"),
        ({"score": None}, "score"),
        ({"engagement_id": str(uuid.uuid4())}, "criteria"),
        ({"score": None, "criteria": {"skill": 80}}, "criteria.punctuality"),
        ({"score": None, "criteria": criteria(80, looks=90)}, "criteria.looks"),
        ({"score": None, "criteria": criteria(80, safety=100.5)}, "criteria.safety"),
    ]
    for override, field in cases:
        response = await rating.rate(employer(), worker, **override)
        assert response.status_code == 422, (override, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"].endswith("/validation-error")
        assert field in problem_fields(response), (override, problem)
    assert await rating.outbox_count() == 0


async def test_rating_an_unknown_worker_is_422(rating: RatingHarness) -> None:
    unknown = uuid.uuid4()
    response = await rating.rate(worker_account(unknown), unknown)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "https://jiasao.gov.cn/problems/unknown-worker"
    assert problem_fields(response) == {"worker_id"}
    assert "moment" in problem["detail"]


async def test_a_worker_without_rating_is_404(rating: RatingHarness) -> None:
    worker = await rating.register()
    path = f"/api/v1/workers/{worker}/rating"
    response = await rating.get(path, officer(), params={"year": YEAR})
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")
    assert (await rating.review(uuid.uuid4(), worker, year=YEAR)).status_code == 201
    other_year = await rating.get(path, officer(), params={"year": YEAR - 1})
    assert other_year.status_code == 404


async def test_single_score_read_has_an_etag(rating: RatingHarness) -> None:
    worker = await rating.register()
    posted = (await rating.review(uuid.uuid4(), worker)).json()
    read = await rating.get(f"/api/v1/ratings/{posted['id']}", officer())
    assert read.status_code == 200
    assert read.json()["score"] == 85.0
    again = await rating.get(
        f"/api/v1/ratings/{posted['id']}",
        officer(),
        headers={"If-None-Match": read.headers["etag"]},
    )
    assert again.status_code == 304
    missing = await rating.get(f"/api/v1/ratings/{uuid.uuid4()}", officer())
    assert missing.status_code == 404


async def test_listing_scores_pages_with_a_cursor(rating: RatingHarness) -> None:
    worker = await rating.register()
    other = await rating.register()
    posted = [
        (await rating.review(uuid.uuid4(), worker, score=60 + i)).json()["id"] for i in range(3)
    ]
    await rating.review(uuid.uuid4(), other)
    await rating.review(uuid.uuid4(), worker, year=YEAR - 1)

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"worker_id": str(worker), "year": YEAR, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await rating.get("/api/v1/ratings", officer(), params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == posted

    everything = (await rating.get("/api/v1/ratings", officer())).json()["items"]
    assert len(everything) == 5
    by_source = await rating.get("/api/v1/ratings", officer(), params={"source": "self"})
    assert by_source.json()["items"] == []
    bad = await rating.get("/api/v1/ratings", officer(), params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert bad.json()["type"].endswith("/invalid-cursor")


async def test_a_repeated_registration_event_is_harmless(rating: RatingHarness) -> None:
    worker = await rating.register()
    await rating.register(worker)  # a second event for the same worker (e.g. a replay)
    response = await rating.review(uuid.uuid4(), worker)
    assert response.status_code == 201
