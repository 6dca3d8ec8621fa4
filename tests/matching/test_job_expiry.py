"""Job expiry: a job past its ``expires_at`` takes no applications (409 job-expired), leaves
the board, "jobs for me" and the online fair's counts, and reads as expired at once; the sweep
then records ``expired`` with a history entry. Only partners name an employer for a job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from services.kit.context import ServiceContext
from services.matching.app import expire_jobs
from services.matching.recruitment.models import HistoryEntry, Job
from tests.matching.matching_support import MatchingHarness, worker_registered
from tests.matching.test_recruitment_rules import job_body
from tests.support.tokens import bearer


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_expired_jobs_take_no_applications_and_leave_the_listings(
    matching: MatchingHarness,
) -> None:
    client = matching.client
    ctx: ServiceContext = matching.app.state.ctx
    worker_id = uuid.uuid4()
    await matching.send(worker_registered(worker_id, status="active", county="gaoyao"))
    employer = bearer("employer", uuid.uuid4())
    worker = bearer("worker", worker_id)
    officer = bearer("officer")

    # An expiry in the past, or without its UTC offset, is refused; an employer names nobody.
    past = await client.post(
        "/api/v1/jobs", json=job_body(expires_at=in_days(-1)), headers=employer
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "expires_at"
    naive = await client.post(
        "/api/v1/jobs", json=job_body(expires_at="2030-01-01T00:00:00"), headers=employer
    )
    assert naive.status_code == 422
    named = await client.post(
        "/api/v1/jobs", json=job_body(employer_id=str(uuid.uuid4())), headers=employer
    )
    assert named.status_code == 422 and named.json()["errors"][0]["field"] == "employer_id"

    posted = [
        await client.post("/api/v1/jobs", json=job_body(expires_at=in_days(30)), headers=employer)
        for _ in range(2)
    ]
    assert all(p.status_code == 201 for p in posted), posted[0].text
    expiring, lasting = (p.json()["id"] for p in posted)
    assert posted[0].json()["expires_at"] is not None
    applied = await client.post(f"/api/v1/jobs/{lasting}/applications", json={}, headers=worker)
    assert applied.status_code == 201, applied.text

    async def board(headers: dict[str, str], **params: Any) -> list[str]:
        response = await client.get("/api/v1/jobs", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [j["id"] for j in response.json()["items"]]

    async def jobs_for_me() -> list[str]:
        response = await client.get(f"/api/v1/candidates/{worker_id}/jobs", headers=worker)
        assert response.status_code == 200, response.text
        return [i["job"]["id"] for i in response.json()["items"]]

    async def open_count() -> int:
        response = await client.get("/api/v1/fairs/online/stats", headers=officer)
        assert response.status_code == 200, response.text
        return sum(response.json()["open_jobs_by_track"].values())

    assert {expiring, lasting} <= set(await board(worker))
    assert expiring in await jobs_for_me()
    before = await open_count()

    # Its time passes (moved into the past here rather than waited for).
    async with ctx.db.write() as session:
        await session.execute(
            update(Job)
            .where(Job.id == uuid.UUID(expiring))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )

    # At once, before any sweep: no applications, off the listings, read as expired.
    late = await client.post(f"/api/v1/jobs/{expiring}/applications", json={}, headers=worker)
    assert late.status_code == 409, late.text
    assert late.headers["content-type"].startswith("application/problem+json")
    assert late.json()["type"].endswith("/job-expired")
    assert expiring not in await board(worker)
    assert expiring not in await board(employer, mine="true", status="open")
    assert await board(employer, mine="true", status="expired") == [expiring]
    assert expiring not in await jobs_for_me()
    assert await open_count() == before - 1
    assert (await client.get(f"/api/v1/jobs/{expiring}", headers=worker)).status_code == 404
    own = await client.get(f"/api/v1/jobs/{expiring}", headers=employer)
    assert own.json()["status"] == "expired"
    reopen = await client.post(
        f"/api/v1/jobs/{expiring}/status", json={"status": "open"}, headers=employer
    )
    assert reopen.status_code == 409 and reopen.json()["current_status"] == "expired"

    # The sweep records it, once: the status and a history entry by the system.
    assert await expire_jobs(ctx) == 1
    assert await expire_jobs(ctx) == 0
    async with ctx.db.read() as session:
        job = await session.get(Job, uuid.UUID(expiring))
        assert job is not None and job.status == "expired"
        [entry] = (
            await session.scalars(
                select(HistoryEntry).where(
                    HistoryEntry.entity_id == job.id, HistoryEntry.action == "expire"
                )
            )
        ).all()
        assert (entry.from_status, entry.to_status, entry.actor_role) == (
            "open",
            "expired",
            "system",
        )
        lasting_job = await session.get(Job, uuid.UUID(lasting))
        assert lasting_job is not None and lasting_job.status == "open"
    assert await board(employer, mine="true", status="expired") == [expiring]
    assert lasting in await board(worker)
