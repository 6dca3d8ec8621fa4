"""Subsidies: a versioned policy, a claim per passed completion, officer review, and payment
exactly once under concurrent requests."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from tests.support.tokens import bearer
from tests.training.test_training_programme import problem, target_worker
from tests.training.training_support import Training


async def passed_enrollment(training: Training, course_id: str, worker_id: uuid.UUID) -> str:
    staff = training.institution()
    enrollment = await training.enroll(course_id, worker_id, as_=staff)
    path = f"/api/v1/enrollments/{enrollment['id']}"
    result = {"score": 90, "hours_attended": 40}
    assert (await training.post(f"{path}/result", result, as_=staff)).status_code == 200
    done = await training.post(f"{path}/complete", as_=staff)
    assert done.json()["passed"] is True, done.text
    return str(enrollment["id"])


async def test_claim_is_reviewed_and_paid_exactly_once(training: Training) -> None:
    staff = training.institution()
    assert (await training.client.get("/api/v1/subsidies/policy")).json() == {
        "current": None,
        "versions": [],
    }
    policy = {"amounts": {"pre_job": 800}, "eligible_groups": ["poverty_alleviation"]}
    assert (await training.post("/api/v1/subsidies/policy", policy, as_=staff)).status_code == 403
    course = await training.own_course(free_for_target_groups=True, tuition_fee=600)
    poor = await target_worker(training, ["poverty_alleviation"])
    plain = await training.known_worker()
    open_one = await training.enroll(course["id"], await training.known_worker(), as_=staff)
    plain_done = {"enrollment_id": await passed_enrollment(training, course["id"], plain)}
    problem(
        await training.post("/api/v1/subsidies", plain_done, as_=staff), 409, "no-subsidy-policy"
    )

    published = await training.post("/api/v1/subsidies/policy", policy)
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 1
    claim_of = {"enrollment_id": open_one["id"]}
    problem(await training.post("/api/v1/subsidies", claim_of, as_=staff), 409, "not-passed")
    problem(await training.post("/api/v1/subsidies", plain_done, as_=staff), 409, "not-eligible")

    enrollment_id = await passed_enrollment(training, course["id"], poor)
    claim_body = {"enrollment_id": enrollment_id}
    other = training.institution(uuid.uuid4())
    assert (await training.post("/api/v1/subsidies", claim_body, as_=other)).status_code == 404

    # Ten institution clerks file the same completion at once: exactly one claim.
    filings = await asyncio.gather(
        *(training.post("/api/v1/subsidies", claim_body, as_=staff) for _ in range(10))
    )
    assert Counter(r.status_code for r in filings) == {201: 1, 409: 9}
    claim = next(r.json() for r in filings if r.status_code == 201)
    assert (claim["amount"], claim["policy_version"], claim["status"]) == (800, 1, "pending")
    path = f"/api/v1/subsidies/{claim['id']}"

    # A later policy version does not change a filed claim.
    v2 = {"amounts": {"pre_job": 1000}, "eligible_groups": []}
    assert (await training.post("/api/v1/subsidies/policy", v2)).json()["version"] == 2
    history = (await training.client.get("/api/v1/subsidies/policy")).json()
    assert [p["version"] for p in history["versions"]] == [1, 2]

    payment = {"payment_reference": "ZQ-TREASURY-2026-0042"}
    problem(await training.post(f"{path}/pay", payment), 409, "claim-not-approved")
    approve = {"decision": "approve"}
    assert (await training.post(f"{path}/review", approve, as_=staff)).status_code == 403
    no_reason = await training.post(f"{path}/review", {"decision": "reject"})
    problem(no_reason, 422, "reason-required")
    approved = await training.post(f"{path}/review", approve)
    assert approved.json()["status"] == "approved", approved.text
    problem(await training.post(f"{path}/review", approve), 409, "claim-not-pending")

    # Ten payment requests at once: paid once, the rest refused.
    payments = await asyncio.gather(*(training.post(f"{path}/pay", payment) for _ in range(10)))
    assert Counter(r.status_code for r in payments) == {200: 1, 409: 9}
    assert all(r.json()["type"].endswith("/already-paid") for r in payments if r.status_code == 409)

    mine = await training.get(path, as_=bearer("worker", poor))
    assert (mine.json()["status"], mine.json()["amount"]) == ("paid", 800)
    assert (await training.get(path, as_=bearer("worker", plain))).status_code == 404
    assert (await training.get(path, as_=other)).status_code == 404
    listed = (await training.get("/api/v1/subsidies", as_=staff)).json()["items"]
    assert [c["id"] for c in listed] == [claim["id"]]
    queue = await training.get("/api/v1/subsidies", params={"status": "pending"})
    assert queue.json()["items"] == []

    # A rejected claim carries its reason.
    rejected_id = await passed_enrollment(
        training, course["id"], await target_worker(training, ["4050"])
    )
    v3 = {"amounts": {"pre_job": 500}, "eligible_groups": []}
    assert (await training.post("/api/v1/subsidies/policy", v3)).status_code == 201
    filed = await training.post("/api/v1/subsidies", {"enrollment_id": rejected_id}, as_=staff)
    assert (filed.json()["amount"], filed.json()["policy_version"]) == (500, 3)
    reject = {"decision": "reject", "reason": "考勤记录与签到表不符"}
    rejected = await training.post(f"/api/v1/subsidies/{filed.json()['id']}/review", reject)
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", reject["reason"])
    problem(
        await training.post(f"/api/v1/subsidies/{filed.json()['id']}/pay", payment),
        409,
        "claim-not-approved",
    )
