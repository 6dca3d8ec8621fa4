"""GET /api/v1/statistics/{training,subsidies,training-bases}: exact figures from enrolments,
results, claims and bases made through the API (workers announced as the registry would);
county and period filters; bad filters; officers only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from services.kit.types import utcnow
from services.training.models import Enrollment
from tests.support.apps import context, eventually
from tests.support.tokens import bearer
from tests.training.test_training_programme import problem
from tests.training.training_support import Training, worker_registered

POOR = ["poverty_alleviation"]


def figures(response: Any) -> dict[str, list[dict[str, Any]]]:
    assert response.status_code == 200, response.text
    return {f["key"]: f["rows"] for f in response.json()["figures"]}


async def announced(training: Training, county: str, groups: list[str]) -> uuid.UUID:
    worker_id = uuid.uuid4()
    event = worker_registered(worker_id).model_copy(
        update={"county": county, "target_groups": groups}
    )
    await training.peer.publish(event)
    await eventually(lambda: training.worker(worker_id))
    return worker_id


async def finished(training: Training, course_id: str, worker_id: uuid.UUID, score: int) -> str:
    staff = training.institution()
    enrollment = await training.enroll(course_id, worker_id, as_=staff)
    path = f"/api/v1/enrollments/{enrollment['id']}"
    result = {"score": score, "hours_attended": 40}
    assert (await training.post(f"{path}/result", result, as_=staff)).status_code == 200
    assert (await training.post(f"{path}/complete", as_=staff)).status_code == 200
    return str(enrollment["id"])


async def test_training_subsidy_and_base_statistics(training: Training) -> None:
    staff = training.institution()
    now = utcnow().strftime("%Y-%m")
    a = await announced(training, "gaoyao", POOR)
    b = await announced(training, "gaoyao", [])
    c = await announced(training, "sihui", POOR)
    pre_job = await training.own_course()
    refresher = await training.own_course(training_type="refresher")
    passed_a = await finished(training, pre_job["id"], a, 90)
    await finished(training, pre_job["id"], b, 30)
    passed_c = await finished(training, pre_job["id"], c, 80)
    early = await training.enroll(refresher["id"], a, as_=staff)
    async with context(training.app).db.write() as session:
        await session.execute(
            update(Enrollment)
            .where(Enrollment.id == uuid.UUID(early["id"]))
            .values(enrolled_at=datetime(2026, 1, 31, 23, 59, tzinfo=UTC))
        )

    got = figures(await training.get("/api/v1/statistics/training"))
    assert got["enrolments_by_month"] == [
        {"month": "2026-01", "track": "maternal_infant", "training_type": "refresher", "value": 1},
        {"month": now, "track": "maternal_infant", "training_type": "pre_job", "value": 3},
    ]
    assert got["completions_by_month"] == [
        {"month": now, "track": "maternal_infant", "training_type": "pre_job", "value": 3}
    ]
    assert got["pass_rate_by_month"] == [
        {"month": now, "track": "maternal_infant", "training_type": "pre_job", "value": 66.7}
    ]
    # County: the workers announced in Sihui.
    got = figures(await training.get("/api/v1/statistics/training", params={"county": "sihui"}))
    assert [r["value"] for r in got["enrolments_by_month"]] == [1]
    assert got["pass_rate_by_month"][0]["value"] == 100.0
    # Period: February onwards leaves out the January enrolment.
    got = figures(await training.get("/api/v1/statistics/training", params={"from": "2026-02"}))
    assert [r["training_type"] for r in got["enrolments_by_month"]] == ["pre_job"]
    got = figures(await training.get("/api/v1/statistics/training", params={"to": "2026-01"}))
    assert [r["month"] for r in got["enrolments_by_month"]] == ["2026-01"]
    assert got["completions_by_month"] == [] and got["pass_rate_by_month"] == []

    # Subsidies: two claims, one approved.
    policy = {"amounts": {"pre_job": 800}, "eligible_groups": POOR}
    assert (await training.post("/api/v1/subsidies/policy", policy)).status_code == 201
    claims = []
    for enrollment_id in (passed_a, passed_c):
        filed = await training.post(
            "/api/v1/subsidies", {"enrollment_id": enrollment_id}, as_=staff
        )
        assert filed.status_code == 201, filed.text
        claims.append(filed.json()["id"])
    review = {"decision": "approve"}
    assert (await training.post(f"/api/v1/subsidies/{claims[0]}/review", review)).status_code == 200
    got = figures(await training.get("/api/v1/statistics/subsidies"))
    assert got["claims_by_month"] == [
        {"month": now, "state": "approved", "value": 1},
        {"month": now, "state": "pending", "value": 1},
    ]
    assert got["amounts_by_month"] == [
        {"month": now, "state": "approved", "value": 800.0},
        {"month": now, "state": "pending", "value": 800.0},
    ]
    got = figures(await training.get("/api/v1/statistics/subsidies", params={"county": "sihui"}))
    assert got["claims_by_month"] == [{"month": now, "state": "pending", "value": 1}]
    got = figures(await training.get("/api/v1/statistics/subsidies", params={"to": "2026-01"}))
    assert got["claims_by_month"] == [] and got["amounts_by_month"] == []

    # Bases against the target: the programme's 2/6 until a policy is stored, then the policy's.
    base = {"name": "基地", "address": "星湖大道 1 号", "capacity": 100}
    for level, county in (
        ("provincial_demonstration", "duanzhou"),
        ("municipal_demonstration", "gaoyao"),
        ("municipal_demonstration", "gaoyao"),
        ("poverty_alleviation", "huaiji"),
    ):
        made = await training.post(
            "/api/v1/training-bases", {**base, "level": level, "county": county}
        )
        assert made.status_code == 201, made.text
    response = await training.get("/api/v1/statistics/training-bases")
    by_key = {f["key"]: f for f in response.json()["figures"]}
    assert by_key["bases_by_level"]["rows"] == [
        {"level": "municipal_demonstration", "value": 2},
        {"level": "poverty_alleviation", "value": 1},
        {"level": "provincial_demonstration", "value": 1},
    ]
    provincial = by_key["provincial_demonstration_bases"]
    assert (provincial["rows"], provincial["target"], provincial["policy_version"]) == (
        [{"value": 1}],
        2,
        None,
    )
    assert by_key["municipal_demonstration_bases"]["target"] == 6
    policy = {
        "rent_free_months": 24,
        "free_property_management_months": 12,
        "provincial_target": 3,
        "municipal_target": 6,
    }
    assert (await training.post("/api/v1/training-bases/policy", policy)).status_code == 201
    response = await training.get("/api/v1/statistics/training-bases", params={"county": "gaoyao"})
    by_key = {f["key"]: f for f in response.json()["figures"]}
    provincial = by_key["provincial_demonstration_bases"]
    assert (provincial["rows"], provincial["target"], provincial["policy_version"]) == (
        [{"value": 0}],
        3,
        1,
    )
    assert by_key["municipal_demonstration_bases"]["rows"] == [{"value": 2}]
    got = figures(await training.get("/api/v1/statistics/training-bases", params={"to": "2025-12"}))
    assert got["bases_by_level"] == []

    # English titles; bad filters; officers only.
    english = await training.get("/api/v1/statistics/subsidies", headers={"Accept-Language": "en"})
    assert english.json()["figures"][1]["title"] == "Subsidy amounts per month (yuan)"
    for topic in ("training", "subsidies", "training-bases"):
        path = f"/api/v1/statistics/{topic}"
        problem(await training.get(path, params={"county": "nowhere"}), 422, "validation-error")
        problem(await training.get(path, params={"from": "26-01"}), 422, "validation-error")
        problem(
            await training.get(path, params={"from": "2026-03", "to": "2026-02"}),
            400,
            "bad-request",
        )
        problem(await training.client.get(path), 401, "unauthorized")
        problem(await training.get(path, as_=staff), 403, "forbidden")
        problem(await training.get(path, as_=bearer("worker", a)), 403, "forbidden")
