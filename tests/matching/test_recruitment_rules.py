"""Recruitment rules in one walk: who may do what with jobs, applications and engagements,
the job life cycle's 409s, invitations and cancelling, "jobs for me" with its reasons and the
worker's preferences, and a recruitment fair from announcement to results."""

from __future__ import annotations

import uuid
from typing import Any

from tests.matching.matching_support import (
    MatchingHarness,
    certificate_issued,
    rating_changed,
    worker_registered,
)
from tests.support.tokens import bearer


def job_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "钟点工",
        "track": "housekeeping",
        "city": "zhaoqing",
        "district": "gaoyao",
        "schedule": "weekday mornings",
        "pay_min": 3000,
        "pay_max": 4500,
        "languages": ["cantonese"],
        "start_date": "2027-02-01",
    }
    body.update(overrides)
    return body


async def test_jobs_hiring_rules_jobs_for_me_and_a_fair(matching: MatchingHarness) -> None:
    client = matching.client
    worker_id, other_worker = uuid.uuid4(), uuid.uuid4()
    await matching.send(
        worker_registered(worker_id, status="active", county="gaoyao"),
        worker_registered(other_worker, name="李四", status="active"),
        rating_changed(worker_id, 4),
        certificate_issued(worker_id),
    )
    employer = bearer("employer", uuid.uuid4())
    company = bearer("company", uuid.uuid4())
    worker = bearer("worker", worker_id)
    officer = bearer("officer")

    # Posting: employers and companies; a partner must send its own id, others must not.
    refused = await client.post("/api/v1/jobs", json=job_body(), headers=worker)
    assert refused.status_code == 403
    own_id = await client.post("/api/v1/jobs", json=job_body(external_id="X1"), headers=employer)
    assert own_id.status_code == 422
    no_id = await client.post(
        "/api/v1/jobs",
        json=job_body(),
        headers=bearer("partner", uuid.uuid4(), scopes=["jobs:write"]),
    )
    assert no_id.status_code == 422
    bad_range = await client.post("/api/v1/jobs", json=job_body(pay_max=10), headers=employer)
    assert bad_range.status_code == 422
    lax = await client.post("/api/v1/jobs", json=job_body(live_in=0), headers=employer)
    assert lax.status_code == 422
    posted = await client.post("/api/v1/jobs", json=job_body(), headers=employer)
    assert posted.status_code == 201, posted.text
    job_id = posted.json()["id"]
    assert posted.headers["location"] == f"/api/v1/jobs/{job_id}"
    second = await client.post(
        "/api/v1/jobs", json=job_body(title="住家", live_in=True), headers=company
    )
    company_job = second.json()["id"]

    # Matches: only the poster (and staff); another employer gets 404.
    assert (
        await client.get(f"/api/v1/jobs/{job_id}/matches", headers=bearer("employer", uuid.uuid4()))
    ).status_code == 404
    matches = await client.get(f"/api/v1/jobs/{job_id}/matches", headers=officer)
    assert [i["worker_id"] for i in matches.json()["items"]] == [str(worker_id), str(other_worker)]
    assert {r["factor"] for r in matches.json()["items"][0]["reasons"]} >= {
        "stars",
        "certificate",
        "place",
        "language",
    }
    policy = await client.get("/api/v1/match-policy", headers=worker)
    assert policy.json()["version"] == 1 and policy.json()["weights"]["certificate_in_track"] == 15
    assert policy.json()["weights"]["red_list"] == 200  # stored before the factor: its default

    # Jobs for me: both jobs, with reasons; refusing live-in drops the company's job.
    mine = await client.get(f"/api/v1/candidates/{worker_id}/jobs", headers=worker)
    assert mine.status_code == 200, mine.text
    assert {i["job"]["id"] for i in mine.json()["items"]} == {job_id, company_job}
    assert (
        await client.get(
            f"/api/v1/candidates/{worker_id}/jobs", headers=bearer("worker", other_worker)
        )
    ).status_code == 404
    prefs = await client.put(
        f"/api/v1/candidates/{worker_id}/preferences",
        json={"accepts_live_in": False, "expected_pay_min": 4000},
        headers=worker,
    )
    assert prefs.status_code == 200, prefs.text
    mine = await client.get(f"/api/v1/candidates/{worker_id}/jobs", headers=worker)
    assert [i["job"]["id"] for i in mine.json()["items"]] == [job_id]
    assert "pay" in {r["factor"] for r in mine.json()["items"][0]["reasons"]}

    # Job life cycle: pause (no applications then), reopen, close is final.
    paused = await client.post(
        f"/api/v1/jobs/{job_id}/status", json={"status": "paused"}, headers=employer
    )
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    closed_to_apply = await client.post(
        f"/api/v1/jobs/{job_id}/applications", json={}, headers=worker
    )
    assert closed_to_apply.status_code == 409
    assert closed_to_apply.json()["type"].endswith("/job-not-open")
    assert (
        await client.post(
            f"/api/v1/jobs/{job_id}/status", json={"status": "open"}, headers=employer
        )
    ).status_code == 200
    assert (
        await client.post(f"/api/v1/jobs/{job_id}/status", json={"status": "open"}, headers=company)
    ).status_code == 404

    # A fair: officers announce it, the employer brings the job, the worker signs up and is
    # checked in, applies from the fair, and the results count it.
    fair = await client.post(
        "/api/v1/fairs",
        json={
            "title": "高要家政专场",
            "city": "zhaoqing",
            "association": "肇庆家政协会",
            "fair_date": "2027-01-20",
            "venue": "高要人才市场",
        },
        headers=officer,
    )
    assert fair.status_code == 201, fair.text
    assert fair.json()["online"] is False
    as_number = await client.post(
        "/api/v1/fairs",
        json={"title": "线上", "city": "shenzhen", "fair_date": 0, "venue": None},
        headers=officer,
    )
    assert as_number.status_code == 422  # a date is ISO text, never a Unix time
    fair_id = fair.json()["id"]
    assert (
        await client.post("/api/v1/fairs", json={**fair.json(), "id": None}, headers=employer)
    ).status_code in (403, 422)
    add = await client.post(
        f"/api/v1/fairs/{fair_id}/jobs", json={"job_id": job_id}, headers=employer
    )
    assert add.status_code == 201, add.text
    assert (
        await client.post(
            f"/api/v1/fairs/{fair_id}/jobs", json={"job_id": company_job}, headers=employer
        )
    ).status_code == 404
    not_signed = await client.post(
        f"/api/v1/fairs/{fair_id}/checkins", json={"worker_id": str(worker_id)}, headers=officer
    )
    assert not_signed.status_code == 409
    assert (
        await client.post(f"/api/v1/fairs/{fair_id}/signups", headers=worker)
    ).status_code == 201
    checked = await client.post(
        f"/api/v1/fairs/{fair_id}/checkins", json={"worker_id": str(worker_id)}, headers=officer
    )
    assert checked.status_code == 200

    # Invitation: the poster invites, the worker applies to it; the poster offers; the
    # worker accepts; the engagement can be cancelled before it starts, not after.
    invited = await client.post(
        f"/api/v1/jobs/{job_id}/invitations",
        json={"worker_id": str(worker_id), "fair_id": fair_id},
        headers=employer,
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "invited"
    app_url = f"/api/v1/applications/{invited.json()['id']}"
    assert (await client.get(app_url, headers=bearer("worker", other_worker))).status_code == 404
    assert (await client.get(app_url, headers=company)).status_code == 404
    for who, step in [
        (worker, {"action": "apply"}),
        (employer, {"action": "offer"}),  # no offer body: 422
    ]:
        response = await client.post(f"{app_url}/actions", json=step, headers=who)
    assert response.status_code == 422
    offer = {"start_date": "2027-02-01", "end_date": "2027-01-01", "pay": 4000}
    backwards = await client.post(
        f"{app_url}/actions", json={"action": "offer", "offer": offer}, headers=employer
    )
    assert backwards.status_code == 422
    offer["end_date"] = "2027-07-31"
    offered = await client.post(
        f"{app_url}/actions", json={"action": "offer", "offer": offer}, headers=employer
    )
    assert offered.status_code == 200, offered.text
    accepted = await client.post(f"{app_url}/actions", json={"action": "accept"}, headers=worker)
    assert accepted.status_code == 200, accepted.text
    engagement_url = f"/api/v1/engagements/{accepted.json()['engagement_id']}"
    engagement = await client.get(engagement_url, headers=worker)
    assert engagement.status_code == 200
    assert engagement.json()["terms"]["pay"] == 4000 and engagement.json()["status"] == "scheduled"
    assert (await client.get(engagement_url, headers=company)).status_code == 404
    worker_start = await client.post(f"{engagement_url}/start", json={}, headers=worker)
    assert worker_start.status_code == 403
    cancelled = await client.post(f"{engagement_url}/cancel", json={}, headers=worker)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await client.post(f"{engagement_url}/start", json={}, headers=employer)
    assert again.status_code == 409 and again.json()["current_status"] == "cancelled"
    listed = await client.get("/api/v1/applications", headers=worker)
    assert [a["id"] for a in listed.json()["items"]] == [invited.json()["id"]]
    assert (await client.get("/api/v1/applications", headers=company)).json()["items"] == []

    results = await client.get(f"/api/v1/fairs/{fair_id}/results", headers=officer)
    assert results.status_code == 200, results.text
    assert {k: v for k, v in results.json().items() if k != "fair_id"} == {
        "jobs": 1,
        "employers": 1,
        "signups": 1,
        "checked_in": 1,
        "applications": 1,
        "offers": 1,
        "hires": 1,
    }
    board = await client.get("/api/v1/fairs/online/stats", headers=worker)
    assert board.status_code == 200
    assert board.json()["open_jobs"] == 1  # the employer's job filled its one position
    assert board.json()["hires_last_24h"] == 1
