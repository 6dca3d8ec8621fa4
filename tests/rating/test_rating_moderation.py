"""Issue 11's anti-abuse signals and moderation, on a real database and real JetStream: flagged
reviews wait for an officer and do not count; keeping or hiding is logged and moves the level."""

from __future__ import annotations

import uuid

from tests.rating.rating_support import (
    YEAR,
    RatingHarness,
    company_staff,
    criteria,
    employer,
    officer,
)


async def test_suspicious_reviews_wait_for_moderation(rating: RatingHarness) -> None:
    company = uuid.uuid4()
    staffer = uuid.uuid4()
    colleague = await rating.register(company_id=company)
    # The worker's own company posted the job and reviews as the employer.
    engagement = await rating.finish_engagement(colleague, staffer, company_id=company)
    own = await rating.client.post(
        "/api/v1/ratings",
        json={
            "worker_id": str(colleague),
            "engagement_id": str(engagement),
            "criteria": criteria(100),
        },
        headers=dict(company_staff(company, staffer)),
    )
    assert own.status_code == 201, own.text
    assert own.json()["source"] == "employer"
    assert (own.json()["status"], own.json()["flags"]) == ("flagged", ["own-company"])
    assert own.json()["level"] is None  # nothing of the year counts yet
    path = f"/api/v1/workers/{colleague}/rating"
    assert (await rating.get(path, officer(), params={"year": YEAR})).status_code == 404

    worker = await rating.register()
    fan = uuid.uuid4()
    first, second = [await rating.review(fan, worker, score=98) for _ in range(2)]
    assert first.json()["flags"] == second.json()["flags"] == []
    # A third top review from the same account in the year.
    repeat = await rating.review(fan, worker, score=98)
    assert (repeat.json()["status"], repeat.json()["flags"]) == (
        "flagged",
        ["repeat-top-reviewer"],
    )
    # A fourth review within 24 hours, far from the counted mean (98).
    odd = await rating.review(uuid.uuid4(), worker, score=40)
    assert odd.json()["flags"] == ["burst", "outlier"]
    assert odd.json()["level"] == {"stars": 5, "score": 98.0}  # the flagged ones do not count

    queue = await rating.get("/api/v1/ratings", officer(), params={"status": "flagged"})
    assert {item["id"] for item in queue.json()["items"]} == {
        own.json()["id"],
        repeat.json()["id"],
        odd.json()["id"],
    }

    # Only officers moderate; the decision needs a reason.
    target = f"/api/v1/ratings/{own.json()['id']}/moderation"
    for caller in (company_staff(company), employer(fan)):
        refused = await rating.client.post(
            target, json={"action": "keep", "reason": "ok"}, headers=dict(caller)
        )
        assert refused.status_code == 403
    no_reason = await rating.client.post(
        target, json={"action": "keep", "reason": ""}, headers=dict(officer())
    )
    assert no_reason.status_code == 422
    kept = await rating.client.post(
        target, json={"action": "keep", "reason": "核实：家政公司直营订单"}, headers=dict(officer())
    )
    assert kept.status_code == 201, kept.text
    again = await rating.client.post(
        target, json={"action": "keep", "reason": "again"}, headers=dict(officer())
    )
    assert again.status_code == 409
    counted = (await rating.get(path, officer(), params={"year": YEAR})).json()
    assert counted["sources"] == {"employer": {"count": 1, "mean": 100.0}}

    hid = await rating.client.post(
        f"/api/v1/ratings/{odd.json()['id']}/moderation",
        json={"action": "hide", "reason": "刷单嫌疑"},
        headers=dict(officer()),
    )
    assert hid.status_code == 201
    log = await rating.get(f"/api/v1/ratings/{odd.json()['id']}/moderation", officer())
    assert [(e["action"], e["reason"]) for e in log.json()] == [("hide", "刷单嫌疑")]
    assert (
        await rating.get(f"/api/v1/ratings/{odd.json()['id']}/moderation", employer(fan))
    ).status_code == 403
    await rating.client.post(
        f"/api/v1/ratings/{repeat.json()['id']}/moderation",
        json={"action": "keep", "reason": "长期雇主"},
        headers=dict(officer()),
    )
    level = (await rating.get(f"/api/v1/workers/{worker}/rating", officer())).json()
    assert level["sources"] == {"employer": {"count": 3, "mean": 98.0}}
    remaining = await rating.get("/api/v1/ratings", officer(), params={"status": "flagged"})
    assert remaining.json()["items"] == []
