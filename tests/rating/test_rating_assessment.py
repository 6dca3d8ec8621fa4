"""Issue 11, the yearly star assessment as one flow on a real database and real JetStream:
finished engagements (published as matching would) → reviews; company and self evaluations;
a new policy version; the closing publishes; an upheld appeal republishes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.rating import WorkerRatingChanged
from tests.rating.rating_support import (
    ENGAGEMENT_CONSUMER,
    YEAR,
    RatingHarness,
    company_staff,
    criteria,
    employer,
    officer,
    worker_account,
)
from tests.support.tokens import bearer

#: Version 2 of the policy the scenario publishes: other weights, absent sources count as 0,
#: and at least two scores from others for more than three stars.
V2_RULES: dict[str, Any] = {
    "weights": {"employer": 0.6, "company": 0.3, "self": 0.1},
    "thresholds": [
        {"min_score": 90, "stars": 5},
        {"min_score": 80, "stars": 4},
        {"min_score": 70, "stars": 3},
        {"min_score": 60, "stars": 2},
    ],
    "absent_sources": "zero",
    "min_reviews": 2,
    "capped_max_stars": 3,
    "review_window_days": 30,
    "appeal_window_days": 30,
    "appeal_decision_days": 10,
    "abuse": {
        "top_score": 95,
        "max_top_reviews_per_employer": 2,
        "burst_per_day": 3,
        "outlier_gap": 40,
    },
}


def points_sum(level: dict[str, Any]) -> Decimal:
    return sum((Decimal(str(c["points"])) for c in level["explanation"]), Decimal(0))


async def test_a_year_from_engagements_to_an_upheld_appeal(rating: RatingHarness) -> None:
    company = uuid.uuid4()
    worker = await rating.register(company_id=company)
    me = worker_account(worker)
    household_a, household_b = uuid.uuid4(), uuid.uuid4()

    # Two finished engagements → two reviews.
    first = await rating.review(household_a, worker, score=95, comment="非常细心")
    second = await rating.review(
        household_b, worker, score=50, criteria=criteria(50, punctuality=30, safety=70)
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert second.json()["score"] == 50.0
    assert second.json()["criteria"]["punctuality"] == 30.0
    # A third review for the same engagement: 409. A review without a finished one: 403.
    third = await rating.client.post(
        "/api/v1/ratings",
        json={
            "worker_id": str(worker),
            "engagement_id": first.json()["engagement_id"],
            "criteria": criteria(100),
        },
        headers=dict(employer(household_a)),
    )
    assert third.status_code == 409
    # Matching's event again, a replay under a new envelope id: still one engagement.
    replayed = rating.finished[uuid.UUID(first.json()["engagement_id"])]
    await rating.handled(await rating.peer.publish(replayed), ENGAGEMENT_CONSUMER)
    assert await rating.engagement_rows(worker) == 2
    unfounded = await rating.client.post(
        "/api/v1/ratings",
        json={"worker_id": str(worker), "score": 100},
        headers=dict(employer(uuid.uuid4())),
    )
    assert unfounded.status_code == 403

    # The worker replies once, publicly, to a review.
    review_b = second.json()["id"]
    replied = await rating.client.post(
        f"/api/v1/ratings/{review_b}/reply", json={"text": "那天下大雨"}, headers=dict(me)
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["reply"] == "那天下大雨" and replied.json()["rater_id"] is None
    twice = await rating.client.post(
        f"/api/v1/ratings/{review_b}/reply", json={"text": "再说一次"}, headers=dict(me)
    )
    assert twice.status_code == 409
    not_mine = await rating.client.post(
        f"/api/v1/ratings/{review_b}/reply",
        json={"text": "x"},
        headers=dict(worker_account(uuid.uuid4())),
    )
    assert not_mine.status_code == 404

    # The company and self evaluations arrive.
    evaluation = await rating.rate(company_staff(company), worker, score=85)
    assert evaluation.status_code == 201
    assert (await rating.rate(me, worker, score=80)).status_code == 201
    # Replies are for employer reviews only.
    not_a_review = await rating.client.post(
        f"/api/v1/ratings/{evaluation.json()['id']}/reply", json={"text": "谢谢"}, headers=dict(me)
    )
    assert not_a_review.status_code == 409
    provisional = (await rating.get(f"/api/v1/workers/{worker}/rating", me)).json()
    # Version 1: (0.5·72.5 + 0.3·85 + 0.2·80) / 1 = 77.75.
    assert provisional["provisional"] is True and provisional["policy_version"] == 1
    assert provisional["score"] == 77.75 and provisional["stars"] == 3
    assert points_sum(provisional) == Decimal("77.75")

    # The policy is published and readable; an officer publishes version 2.
    v1 = await rating.get("/api/v1/assessments/policy", me)
    assert v1.status_code == 200 and v1.json()["version"] == 1
    assert v1.json()["rules"]["weights"] == {"employer": 0.5, "company": 0.3, "self": 0.2}
    refused = await rating.client.post(
        "/api/v1/assessments/policies", json={"rules": V2_RULES}, headers=dict(me)
    )
    assert refused.status_code == 403
    bad = await rating.client.post(
        "/api/v1/assessments/policies",
        json={"rules": V2_RULES | {"weights": {"employer": 0.6, "company": 0.3, "self": 0.2}}},
        headers=dict(officer()),
    )
    assert bad.status_code == 422, bad.text
    v2 = await rating.client.post(
        "/api/v1/assessments/policies",
        json={"rules": V2_RULES, "note": "2026 assessment"},
        headers=dict(officer()),
    )
    assert v2.status_code == 201, v2.text
    assert v2.json()["version"] == 2
    assert (await rating.get("/api/v1/assessments/policy", me)).json()["version"] == 2
    assert (await rating.get("/api/v1/assessments/policies/1", me)).json()["version"] == 1

    # The year closes: the level is computed with version 2 and published.
    assert (
        await rating.client.post(f"/api/v1/assessments/years/{YEAR}/close", headers=dict(me))
    ).status_code == 403
    closed = await rating.client.post(
        f"/api/v1/assessments/years/{YEAR}/close", headers=dict(officer())
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["policy_version"] == 2 and closed.json()["published"] == 1
    again = await rating.client.post(
        f"/api/v1/assessments/years/{YEAR}/close", headers=dict(officer())
    )
    assert again.status_code == 409
    published = (await rating.get(f"/api/v1/workers/{worker}/rating", me)).json()
    # 0.6·72.5 + 0.3·85 + 0.1·80 = 43.5 + 25.5 + 8 = 77.
    assert published["provisional"] is False and published["policy_version"] == 2
    assert published["score"] == 77.0 and published["stars"] == 3
    assert points_sum(published) == Decimal("77.00")
    assert [(c["source"], c["points"]) for c in published["explanation"]] == [
        ("employer", 43.5),
        ("company", 25.5),
        ("self", 8.0),
    ]
    # Nothing more is taken for a closed year.
    late = await rating.review(uuid.uuid4(), worker, score=100)
    assert late.status_code == 409
    assert late.json()["type"].endswith("/assessment-year-not-open")

    # The worker appeals the low review; an officer upholds it: recomputed and republished.
    appeal = await rating.client.post(
        "/api/v1/assessments/appeals",
        json={"year": YEAR, "rating_id": review_b, "reason": "雇主与我有私人纠纷"},
        headers=dict(me),
    )
    assert appeal.status_code == 201, appeal.text
    appeal_id = appeal.json()["id"]
    assert appeal.json()["status"] == "pending" and appeal.json()["overdue"] is False
    duplicate = await rating.client.post(
        "/api/v1/assessments/appeals",
        json={"year": YEAR, "rating_id": review_b, "reason": "再次"},
        headers=dict(me),
    )
    assert duplicate.status_code == 409
    someone_elses = await rating.client.post(
        "/api/v1/assessments/appeals",
        json={"year": YEAR, "rating_id": review_b, "reason": "x"},
        headers=dict(worker_account(uuid.uuid4())),
    )
    assert someone_elses.status_code == 404
    queue = await rating.get("/api/v1/assessments/appeals", officer(), params={"status": "pending"})
    assert [a["id"] for a in queue.json()["items"]] == [appeal_id]
    assert (await rating.get("/api/v1/assessments/appeals", worker_account(uuid.uuid4()))).json()[
        "items"
    ] == []
    decided = await rating.client.post(
        f"/api/v1/assessments/appeals/{appeal_id}/decision",
        json={"outcome": "upheld", "reason": "评价出于私人纠纷"},
        headers=dict(officer()),
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "upheld"
    redecided = await rating.client.post(
        f"/api/v1/assessments/appeals/{appeal_id}/decision",
        json={"outcome": "rejected", "reason": "改主意"},
        headers=dict(officer()),
    )
    assert redecided.status_code == 409

    # 0.6·95 + 0.3·85 + 0.1·80 = 90.5: five stars now, still policy version 2.
    view = await rating.get(f"/api/v1/assessments/workers/{worker}", me)
    assert view.status_code == 200, view.text
    [level] = view.json()["levels"]
    assert (level["stars"], level["score"], level["provisional"]) == (5, 90.5, False)
    assert level["policy_version"] == 2 and points_sum(level) == Decimal("90.50")
    history = view.json()["history"]
    assert [(h["reason"], h["stars"], h["policy_version"]) for h in history] == [
        ("closing", 3, 2),
        ("appeal", 5, 2),
    ]
    assert history[1]["appeal_id"] == appeal_id
    hidden = (await rating.get(f"/api/v1/ratings/{review_b}", officer())).json()
    assert hidden["status"] == "hidden"
    log = (await rating.get(f"/api/v1/ratings/{review_b}/moderation", officer())).json()
    assert [entry["action"] for entry in log] == ["hide"]
    assert appeal_id in log[0]["reason"]
    # Others do not see the worker's own view.
    for stranger in (worker_account(uuid.uuid4()), company_staff(company), employer()):
        assert (
            await rating.get(f"/api/v1/assessments/workers/{worker}", stranger)
        ).status_code in (
            403,
            404,
        )

    # What credit and matching consume: the provisional changes, then each publication.
    tap = await rating.tap(WorkerRatingChanged.subject)
    events = [e.data for e in await tap.wait_for(3) if e.data["worker_id"] == str(worker)]
    finals = [
        (e["stars"], e["previous_stars"], e["policy_version"])
        for e in events
        if not e["provisional"]
    ]
    assert finals == [(3, 3, 2), (5, 3, 2)]
    assert all(e["policy_version"] == 1 for e in events if e["provisional"])


async def test_years_are_opened_and_closed_by_officers(rating: RatingHarness) -> None:
    years = (await rating.get("/api/v1/assessments/years", officer())).json()
    assert [y["year"] for y in years] == [YEAR, YEAR - 1]
    assert all(y["status"] == "open" for y in years)
    twice = await rating.client.post(
        "/api/v1/assessments/years", json={"year": YEAR}, headers=dict(officer())
    )
    assert twice.status_code == 409
    for caller in (company_staff(uuid.uuid4()), employer(), bearer("admin")):
        response = await rating.client.post(
            "/api/v1/assessments/years", json={"year": YEAR + 1}, headers=dict(caller)
        )
        assert response.status_code == 403
    never = await rating.client.post(
        f"/api/v1/assessments/years/{YEAR + 1}/close", headers=dict(officer())
    )
    assert never.status_code == 404
    worker = await rating.register()
    unopened = await rating.rate(worker_account(worker), worker, year=YEAR + 1)
    assert unopened.status_code == 409
    assert unopened.json()["type"].endswith("/assessment-year-not-open")
    # A year whose only level is provisional self-evaluation: closing publishes it.
    assert (await rating.rate(worker_account(worker), worker, year=YEAR - 1)).status_code == 201
    closed = await rating.client.post(
        f"/api/v1/assessments/years/{YEAR - 1}/close", headers=dict(officer())
    )
    assert closed.json()["published"] == 1 and closed.json()["policy_version"] == 1
    read = await rating.get(f"/api/v1/assessments/years/{YEAR - 1}", worker_account(worker))
    assert read.json()["status"] == "closed"

    # The worker appeals the published level itself (not a score): nothing published yet for
    # the open year is a 409; the closed year's level may be appealed, with a deadline.
    me = worker_account(worker)
    early = await rating.client.post(
        "/api/v1/assessments/appeals", json={"year": YEAR, "reason": "太低"}, headers=dict(me)
    )
    assert early.status_code == 409
    assert early.json()["type"].endswith("/nothing-published")
    filed = await rating.client.post(
        "/api/v1/assessments/appeals", json={"year": YEAR - 1, "reason": "太低"}, headers=dict(me)
    )
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert appeal["rating_id"] is None
    days = datetime.fromisoformat(appeal["decide_by"]) - datetime.fromisoformat(appeal["filed_at"])
    assert days == timedelta(days=15)  # policy version 1's appeal_decision_days
    rejected = await rating.client.post(
        f"/api/v1/assessments/appeals/{appeal['id']}/decision",
        json={"outcome": "rejected", "reason": "自评不能超过三星"},
        headers=dict(officer()),
    )
    assert rejected.json()["status"] == "rejected"
    view = (await rating.get(f"/api/v1/assessments/workers/{worker}", me)).json()
    assert [(h["reason"], h["stars"]) for h in view["history"]] == [("closing", 3)]
    assert view["levels"][0]["year"] == YEAR - 1 and view["levels"][0]["stars"] == 3
    # Appealed again and upheld: recomputed with the current policy and republished.
    upheld = await rating.client.post(
        "/api/v1/assessments/appeals", json={"year": YEAR - 1, "reason": "再议"}, headers=dict(me)
    )
    assert upheld.status_code == 201, upheld.text
    decided = await rating.client.post(
        f"/api/v1/assessments/appeals/{upheld.json()['id']}/decision",
        json={"outcome": "upheld", "reason": "重新核算"},
        headers=dict(officer()),
    )
    assert decided.status_code == 200
    view = (await rating.get(f"/api/v1/assessments/workers/{worker}", me)).json()
    assert [(h["reason"], h["stars"], h["appeal_id"]) for h in view["history"]] == [
        ("closing", 3, None),
        ("appeal", 3, upheld.json()["id"]),
    ]
    mine = await rating.get(f"/api/v1/assessments/appeals/{appeal['id']}", me)
    assert mine.status_code == 200 and mine.json()["decision_reason"] == "自评不能超过三星"
    other = await rating.get(
        f"/api/v1/assessments/appeals/{appeal['id']}", worker_account(uuid.uuid4())
    )
    assert other.status_code == 404
