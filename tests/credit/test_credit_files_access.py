"""Credit files: who reads what (exact statuses), and records from ratings and engagements."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from contracts.matching import EngagementFinished
from contracts.rating import WorkerRatingChanged
from contracts.registry import EmployerRegistered, WorkerUpdated
from services.credit.files.checks import expire_due
from tests.credit.credit_support import Credit, officer
from tests.credit.test_credit_files import file_where
from tests.support.apps import context
from tests.support.tokens import bearer


def rating(worker: uuid.UUID, stars: int, at: datetime) -> WorkerRatingChanged:
    return WorkerRatingChanged(
        worker_id=str(worker), year=2026, stars=stars, previous_stars=None, score=50, changed_at=at
    )


async def test_who_reads_credit_files_and_records_from_events(credit: Credit) -> None:
    client = credit.client
    worker = await credit.known_worker("黄美玲")
    company, employer, partner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await credit.employ(worker, company)
    await credit.consent(worker, employer)
    await file_where(credit, "worker", worker, score=70)
    callers = {
        "officer": officer(),
        "self": bearer("worker", worker),
        "other_worker": bearer("worker", uuid.uuid4()),
        "company": bearer("company", company),
        "other_company": bearer("company", uuid.uuid4()),
        "employer": bearer("employer", employer),
        "other_employer": bearer("employer", uuid.uuid4()),
        "partner": bearer("partner", partner, scopes=["credit:read"]),
        "institution": bearer("institution", uuid.uuid4()),
    }
    expected = {
        f"/api/v1/credit-files/worker/{worker}": {
            "officer": 200,
            "self": 200,
            "other_worker": 404,
            "company": 200,
            "other_company": 404,
            "employer": 404,
            "other_employer": 404,
            "partner": 403,
            "institution": 404,
        },
        f"/api/v1/workers/{worker}/credit": {
            "officer": 200,
            "self": 200,
            "other_worker": 403,
            "company": 200,
            "other_company": 403,
            "employer": 200,
            "other_employer": 403,
            "partner": 403,
            "institution": 403,
        },
        "/api/v1/credit-files": {"officer": 200, "self": 403, "company": 403, "partner": 403},
    }
    got = {
        path: {
            caller: (await client.get(path, headers=callers[caller])).status_code for caller in row
        }
        for path, row in expected.items()
    }
    assert got == expected
    assert (await client.get(f"/api/v1/workers/{worker}/credit")).status_code == 401
    log = (
        await client.get(f"/api/v1/workers/{worker}/credit/access-log", headers=callers["self"])
    ).json()["items"]
    assert sorted((e["reader_role"], e["resource"]) for e in log) == [
        ("company", "credit"),
        ("company", "credit_file"),
        ("employer", "credit"),
    ]

    # A finished engagement: a positive record for the worker and the employer.
    await credit.peer.publish(
        EmployerRegistered(
            employer_id=str(employer),
            name="张女士",
            city="zhaoqing",
            district=None,
            registered_at=datetime.now(UTC),
        )
    )
    finished = EngagementFinished(
        engagement_id=str(uuid.uuid4()),
        job_id=str(uuid.uuid4()),
        worker_id=str(worker),
        employer_id=str(employer),
        company_id=None,
        poster_account_id="acct-1",
        track="housekeeping",
        start_date=date(2026, 3, 1),
        end_date=date(2026, 6, 1),
        finished_at=datetime.now(UTC),
    )
    await credit.peer.publish(finished)
    await credit.peer.publish(finished)  # redelivered under another id: counted once
    await file_where(credit, "worker", worker, score=71)
    await file_where(credit, "employer", employer, score=71)

    # Ratings: the newest of the year replaces the earlier, an older one is ignored.
    now = datetime.now(UTC)
    await credit.peer.publish(rating(worker, 5, now - timedelta(hours=2)))
    await file_where(credit, "worker", worker, score=76)
    await credit.peer.publish(rating(worker, 2, now - timedelta(hours=1)))
    await file_where(credit, "worker", worker, score=63, level="C")
    await credit.peer.publish(rating(worker, 5, now - timedelta(hours=3)))  # stale
    await credit.peer.publish(rating(worker, 3, now))
    file = await file_where(credit, "worker", worker, score=71, level="B")
    assert [line["kind"] for line in file["explanation"]] == ["engagement_finished"]
    records = (
        await client.get(
            f"/api/v1/credit-files/worker/{worker}/records?limit=10", headers=officer()
        )
    ).json()["items"]
    by_kind = {r["kind"]: r for r in records}
    assert by_kind["stars_high"]["superseded_by_id"] == by_kind["rating_low"]["id"]
    assert by_kind["rating_low"]["withdrawn_at"] is not None

    # Mandatory checks: an expired health certificate is a negative record until renewed.
    def updated(health: date, at: datetime) -> WorkerUpdated:
        return WorkerUpdated(
            worker_id=str(worker),
            name="黄美玲",
            county="duanzhou",
            tracks=["housekeeping"],
            languages=["cantonese"],
            education=None,
            target_groups=[],
            health_check_valid_until=health,
            no_criminal_record_valid_until=None,
            updated_at=at,
        )

    today = datetime.now(UTC).date()
    await credit.peer.publish(updated(today - timedelta(days=3), now + timedelta(seconds=1)))
    file = await file_where(credit, "worker", worker, score=65, level="C")
    assert "mandatory_check_expired" in {line["kind"] for line in file["explanation"]}
    await credit.peer.publish(updated(today + timedelta(days=2), now + timedelta(seconds=2)))
    await file_where(credit, "worker", worker, score=71, level="B")
    async with context(credit.app).db.write() as session:
        assert await expire_due(session, now + timedelta(days=1)) == 0
        assert await expire_due(session, now + timedelta(days=4)) == 1
    await file_where(credit, "worker", worker, score=65, level="C")
