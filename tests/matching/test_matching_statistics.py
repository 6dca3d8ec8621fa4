"""GET /api/v1/statistics/{jobs,fairs}: exact figures from jobs, fairs and hires made through the
API (workers announced as the registry would); county and period filters; bad filters;
officers only."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from services.kit.types import utcnow
from services.matching.recruitment.models import Job
from tests.matching.matching_support import MatchingHarness, worker_registered
from tests.matching.test_recruitment_rules import job_body
from tests.support.apps import context
from tests.support.tokens import bearer

PROBLEM = "application/problem+json"


async def report(matching: MatchingHarness, topic: str, **params: str) -> dict[str, Any]:
    response = await matching.client.get(
        f"/api/v1/statistics/{topic}", params=params, headers=bearer("officer")
    )
    assert response.status_code == 200, response.text
    return {f["key"]: f["rows"] for f in response.json()["figures"]}


async def hire(
    matching: MatchingHarness,
    job_id: str,
    worker_id: uuid.UUID,
    employer: dict[str, str],
    fair_id: str | None = None,
) -> None:
    client, worker = matching.client, bearer("worker", worker_id)
    applied = await client.post(
        f"/api/v1/jobs/{job_id}/applications", json={"fair_id": fair_id}, headers=worker
    )
    assert applied.status_code == 201, applied.text
    url = f"/api/v1/applications/{applied.json()['id']}/actions"
    offer = {"start_date": "2027-02-01", "end_date": "2027-07-31", "pay": 4000}
    offered = await client.post(url, json={"action": "offer", "offer": offer}, headers=employer)
    assert offered.status_code == 200, offered.text
    accepted = await client.post(url, json={"action": "accept"}, headers=worker)
    assert accepted.status_code == 200, accepted.text


async def test_job_and_fair_statistics(matching: MatchingHarness) -> None:
    client = matching.client
    officer = bearer("officer")
    near, far = uuid.uuid4(), uuid.uuid4()
    await matching.send(
        worker_registered(near, status="active", county="gaoyao"),
        worker_registered(far, name="李四", status="active", county="sihui"),
    )
    employer = bearer("employer", uuid.uuid4())
    jobs = []
    for city in ("zhaoqing", "guangzhou", "zhaoqing"):
        posted = await client.post("/api/v1/jobs", json=job_body(city=city), headers=employer)
        assert posted.status_code == 201, posted.text
        jobs.append(posted.json()["id"])
    # The first job was posted two and a half days before it is filled.
    posted_at = utcnow() - timedelta(days=2, hours=12)
    async with context(matching.app).db.write() as session:
        await session.execute(
            update(Job).where(Job.id == uuid.UUID(jobs[0])).values(created_at=posted_at)
        )
    fairs = []
    for title, city, day in (
        ("高要专场", "zhaoqing", "2027-01-20"),
        ("深圳专场", "shenzhen", "2027-03-05"),
    ):
        fair = {"title": title, "city": city, "fair_date": day, "venue": "人才市场"}
        made = await client.post("/api/v1/fairs", json=fair, headers=officer)
        assert made.status_code == 201, made.text
        fairs.append(made.json()["id"])
    fair_id = fairs[0]
    added = await client.post(
        f"/api/v1/fairs/{fair_id}/jobs", json={"job_id": jobs[0]}, headers=employer
    )
    assert added.status_code == 201, added.text
    signed = await client.post(f"/api/v1/fairs/{fair_id}/signups", headers=bearer("worker", near))
    assert signed.status_code == 201, signed.text
    checkin = {"worker_id": str(near)}
    assert (
        await client.post(f"/api/v1/fairs/{fair_id}/checkins", json=checkin, headers=officer)
    ).status_code == 200
    await hire(matching, jobs[0], near, employer, fair_id)
    await hire(matching, jobs[1], far, employer)
    month = utcnow().strftime("%Y-%m")

    got = await report(matching, "jobs")
    posted = Counter(
        [(posted_at.strftime("%Y-%m"), "zhaoqing"), (month, "guangzhou"), (month, "zhaoqing")]
    )
    assert got["jobs_posted_by_month"] == [
        {"month": m, "city": c, "value": n} for (m, c), n in sorted(posted.items())
    ]
    assert got["jobs_filled_by_month"] == [
        {"month": month, "city": "guangzhou", "value": 1},
        {"month": month, "city": "zhaoqing", "value": 1},
    ]
    assert got["time_to_fill_by_month"] == [
        {"month": month, "city": "guangzhou", "value": 0.0},
        {"month": month, "city": "zhaoqing", "value": 2.5},
    ]
    got = await report(matching, "jobs", to="2026-01")
    assert got["jobs_posted_by_month"] == [] and got["time_to_fill_by_month"] == []

    got = await report(matching, "fairs")
    assert got["fairs_by_month"] == [
        {"month": "2027-01", "city": "zhaoqing", "value": 1},
        {"month": "2027-03", "city": "shenzhen", "value": 1},
    ]
    assert got["fair_hires"] == [
        {"fair": "高要专场", "fair_date": "2027-01-20", "city": "zhaoqing", "value": 1},
        {"fair": "深圳专场", "fair_date": "2027-03-05", "city": "shenzhen", "value": 0},
    ]
    got = await report(matching, "fairs", county="sihui")
    assert [r["value"] for r in got["fair_hires"]] == [0, 0]
    got = await report(matching, "fairs", county="gaoyao", **{"from": "2027-01", "to": "2027-02"})
    assert got["fairs_by_month"] == [{"month": "2027-01", "city": "zhaoqing", "value": 1}]
    assert [r["value"] for r in got["fair_hires"]] == [1]

    english = await client.get(
        "/api/v1/statistics/fairs", headers={**officer, "Accept-Language": "en"}
    )
    assert english.json()["figures"][1]["title"] == "Fairs and their hires"
    for topic in ("jobs", "fairs"):
        path = f"/api/v1/statistics/{topic}"
        for params, status in (
            ({"county": "kowloon"}, 422),
            ({"from": "2026-7"}, 422),
            ({"from": "2027-02", "to": "2027-01"}, 400),
        ):
            refused = await client.get(path, params=params, headers=officer)
            assert (refused.status_code, refused.headers["content-type"]) == (status, PROBLEM)
        assert (await client.get(path)).status_code == 401
        for caller in (
            employer,
            bearer("worker", near),
            bearer("partner", uuid.uuid4(), scopes=["jobs:read"]),
        ):
            refused = await client.get(path, headers=caller)
            assert (refused.status_code, refused.headers["content-type"]) == (403, PROBLEM)
