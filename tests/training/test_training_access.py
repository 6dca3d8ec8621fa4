"""Who may do what in training, beyond the matrix: what each caller's lists contain, that a
worker cannot mint a certificate, that one institution cannot touch another's records, tokens
on public routes, and strict numbers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.kit.policy import routes_without_policy
from services.kit.tables import outbox
from services.training.app import create_app
from tests.support.apps import context, eventually
from tests.support.tokens import bearer
from tests.training.training_support import COURSE, Training, employment_changed

PROBLEM = "application/problem+json"


async def outbox_rows(training: Training) -> int:
    async with context(training.app).db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(outbox)) or 0)


async def listed(training: Training, as_: dict[str, str], **params: str) -> list[str]:
    response = await training.get("/api/v1/enrollments", params=params, as_=as_)
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


def test_every_training_route_declares_a_policy() -> None:
    assert routes_without_policy(create_app()) == []


async def test_a_worker_can_neither_record_a_result_nor_complete(training: Training) -> None:
    worker_id = await training.known_worker()
    me = bearer("worker", worker_id)
    course = await training.own_course()
    enrolled = await training.post("/api/v1/enrollments", {"course_id": course["id"]}, as_=me)
    assert enrolled.status_code == 201, enrolled.text
    enrollment = enrolled.json()
    assert enrollment["worker_id"] == str(worker_id)  # defaulted to the caller
    path = f"/api/v1/enrollments/{enrollment['id']}"

    result = await training.post(f"{path}/result", {"score": 100, "hours_attended": 40}, as_=me)
    assert result.status_code == 403
    assert result.headers["content-type"] == PROBLEM
    assert result.json()["type"].endswith("/forbidden")
    # Even with a result an officer recorded, the worker cannot complete it themself.
    recorded = await training.post(f"{path}/result", {"score": 100, "hours_attended": 40})
    assert recorded.status_code == 200
    done = await training.post(f"{path}/complete", as_=me)
    assert done.status_code == 403

    mine = await training.get(path, as_=me)
    assert mine.status_code == 200
    assert (mine.json()["status"], mine.json()["passed"]) == ("enrolled", None)
    assert await outbox_rows(training) == 0  # no completion announced, so no certificate


async def test_an_institution_cannot_touch_another_institutions_records(
    training: Training,
) -> None:
    mine, theirs = training.institution(), training.institution(uuid.uuid4())
    worker_id = await training.known_worker()
    course = await training.own_course()
    enrollment = await training.enroll(course["id"], worker_id, as_=mine)
    path = f"/api/v1/enrollments/{enrollment['id']}"

    naming_mine = {**COURSE, "institution_id": str(training.institution_id)}
    assert (await training.post("/api/v1/courses", naming_mine, as_=theirs)).status_code == 403
    body = {"course_id": course["id"], "worker_id": str(worker_id)}
    other = await training.post("/api/v1/enrollments", body, as_=theirs)
    assert other.status_code == 403
    result = {"score": 100, "hours_attended": 40}
    assert (await training.post(f"{path}/result", result, as_=theirs)).status_code == 404
    assert (await training.post(f"{path}/complete", as_=theirs)).status_code == 404
    assert (await training.get(path, as_=theirs)).status_code == 404
    assert await listed(training, theirs) == []
    assert await listed(training, theirs, course_id=course["id"]) == []

    # Untouched: still open, no result, and its own institution still runs it.
    assert (await training.get(path, as_=mine)).json()["score"] is None
    assert (await training.post(f"{path}/result", result, as_=mine)).status_code == 200
    done = await training.post(f"{path}/complete", as_=mine)
    assert done.status_code == 200
    assert done.json()["passed"] is True


async def test_an_institutions_course_is_its_own(training: Training) -> None:
    course = await training.own_course()
    assert course["institution_id"] == str(training.institution_id)
    named = await training.create_course(
        as_=training.institution(), institution_id=str(training.institution_id)
    )
    assert named["institution_id"] == str(training.institution_id)
    # Officers may name any institution, or none.
    elsewhere = uuid.uuid4()
    assert (await training.create_course(institution_id=str(elsewhere)))["institution_id"] == str(
        elsewhere
    )
    assert (await training.create_course())["institution_id"] is None


async def test_institution_staff_cannot_run_programme_courses(training: Training) -> None:
    staff = training.institution()
    course = await training.create_course()  # an officer's course of no institution
    worker_id = await training.known_worker()
    body = {"course_id": course["id"], "worker_id": str(worker_id)}
    assert (await training.post("/api/v1/enrollments", body, as_=staff)).status_code == 403
    enrollment = await training.enroll(course["id"], worker_id)
    path = f"/api/v1/enrollments/{enrollment['id']}"
    result = {"score": 100, "hours_attended": 40}
    assert (await training.post(f"{path}/result", result, as_=staff)).status_code == 404
    assert (await training.get(path, as_=staff)).status_code == 404


async def test_a_worker_enrols_and_lists_only_themself(training: Training) -> None:
    alice, bob = await training.known_worker("李丽"), await training.known_worker("黄芳")
    as_alice = bearer("worker", alice)
    course = await training.own_course()
    other = await training.own_course(title="养老护理")
    for_bob = {"course_id": course["id"], "worker_id": str(bob)}
    refused = await training.post("/api/v1/enrollments", for_bob, as_=as_alice)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    a1 = await training.enroll(course["id"], alice, as_=as_alice)
    a2 = await training.enroll(other["id"], alice, as_=as_alice)
    b1 = await training.enroll(course["id"], bob)

    assert await listed(training, as_alice) == [a1["id"], a2["id"]]
    assert await listed(training, as_alice, course_id=course["id"]) == [a1["id"]]
    # Asking for another worker's enrolments shows none of them.
    assert await listed(training, as_alice, worker_id=str(bob)) == []
    assert (await training.get(f"/api/v1/enrollments/{b1['id']}", as_=as_alice)).status_code == 404


async def test_officers_must_name_the_worker(training: Training) -> None:
    course = await training.create_course()
    response = await training.post("/api/v1/enrollments", {"course_id": course["id"]})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["worker_id"]


async def test_institution_lists_the_enrolments_of_its_courses(training: Training) -> None:
    staff = training.institution()
    mine, programme = await training.own_course(), await training.create_course(title="B")
    alice, bob = await training.known_worker("李丽"), await training.known_worker("黄芳")
    a1 = await training.enroll(mine["id"], alice)
    await training.enroll(programme["id"], alice)
    b1 = await training.enroll(mine["id"], bob)
    assert await listed(training, staff) == [a1["id"], b1["id"]]
    assert await listed(training, staff, worker_id=str(bob)) == [b1["id"]]
    assert len(await listed(training, bearer("officer"))) == 3


async def test_a_company_reads_its_current_employees_enrolments(training: Training) -> None:
    company = uuid.uuid4()
    staff = bearer("company", company)
    course = await training.own_course()
    employee, outsider = await training.known_worker("李丽"), await training.known_worker("黄芳")
    await training.employ(employee, company)
    mine = await training.enroll(course["id"], employee)
    theirs = await training.enroll(course["id"], outsider)
    assert await listed(training, staff) == [mine["id"]]
    assert (await training.get(f"/api/v1/enrollments/{mine['id']}", as_=staff)).status_code == 200
    outsider_path = f"/api/v1/enrollments/{theirs['id']}"
    assert (await training.get(outsider_path, as_=staff)).status_code == 404
    # Company staff may read, never enrol or record.
    body = {"course_id": course["id"], "worker_id": str(employee)}
    assert (await training.post("/api/v1/enrollments", body, as_=staff)).status_code == 403

    # Once the worker leaves, the company no longer sees their training.
    await training.employ(employee, None)
    assert await listed(training, staff) == []
    assert (await training.get(f"/api/v1/enrollments/{mine['id']}", as_=staff)).status_code == 404


async def test_an_older_employment_change_arriving_late_is_ignored(training: Training) -> None:
    worker_id, now = uuid.uuid4(), datetime.now(UTC)
    old, new = uuid.uuid4(), uuid.uuid4()
    # Before the worker's registration, too: no placeholder worker is needed.
    await training.peer.publish(employment_changed(worker_id, new, at=now))
    await training.peer.publish(employment_changed(worker_id, old, at=now - timedelta(days=1)))
    runner = context(training.app).runners["training-employments"]

    async def both_handled() -> bool:
        return runner.processed >= 2

    await eventually(both_handled)
    employment = await training.employment(worker_id)
    assert employment is not None and employment.company_id == new
    assert await training.worker(worker_id) is None


async def test_public_catalogue_still_verifies_a_sent_token(training: Training) -> None:
    course = await training.create_course()
    path = f"/api/v1/courses/{course['id']}"
    assert (await training.client.get(path)).status_code == 200
    for authorization in ("Bearer not-a-token", "Basic b2ZmaWNlcjpwdw=="):
        response = await training.client.get(path, headers={"Authorization": authorization})
        assert response.status_code == 401, authorization
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")


#: The public operations outside /courses/{course_id}; every other one needs a token.
PUBLIC_OPERATIONS = {
    ("get", "/api/v1/courses"),
    ("get", "/api/v1/subsidies/policy"),
    ("get", "/api/v1/competitions/policy"),
    ("get", "/api/v1/competitions"),
    ("get", "/api/v1/competitions/{competition_id}"),
    ("get", "/api/v1/competitions/{competition_id}/entries"),
    ("get", "/api/v1/training-bases/policy"),
    ("get", "/api/v1/training-bases"),
    ("get", "/api/v1/training-bases/{base_id}"),
    ("get", "/api/v1/apprenticeships/policy"),
    ("get", "/api/v1/ventures/policy"),
}


async def test_every_other_route_refuses_anonymous_callers(training: Training) -> None:
    sample = str(uuid.uuid4())
    checked = 0
    for path, operations in training.app.openapi()["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/courses/{"):
            continue
        concrete = path
        for name in (
            "{enrollment_id}",
            "{claim_id}",
            "{competition_id}",
            "{worker_id}",
            "{base_id}",
        ):
            concrete = concrete.replace(name, sample)
        for method in operations:
            if (method, path) in PUBLIC_OPERATIONS:
                continue
            response = await training.client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            checked += 1
    assert checked == 52  # 49 domain routes and the three statistics topics


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"pass_score": False}, "pass_score"),
        ({"pass_score": True}, "pass_score"),
        ({"pass_score": "60"}, "pass_score"),
        ({"hours": True}, "hours"),
        ({"hours": "40"}, "hours"),
        ({"title": 123}, "title"),
        ({"track": 1}, "track"),
    ],
)
async def test_course_numbers_are_strict(
    training: Training, overrides: dict[str, Any], field: str
) -> None:
    response = await training.post("/api/v1/courses", {**COURSE, **overrides})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": True, "hours_attended": 40}, "score"),
        ({"score": False, "hours_attended": 40}, "score"),
        ({"score": "100", "hours_attended": 40}, "score"),
        ({"score": 80, "hours_attended": True}, "hours_attended"),
        ({"score": 80, "hours_attended": "40"}, "hours_attended"),
    ],
)
async def test_result_numbers_are_strict(
    training: Training, body: dict[str, Any], field: str
) -> None:
    course = await training.own_course()
    enrollment = await training.enroll(course["id"], await training.known_worker())
    path = f"/api/v1/enrollments/{enrollment['id']}/result"
    response = await training.post(path, body, as_=training.institution())
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    # Whole numbers are still numbers.
    ok = await training.post(path, {"score": 80, "hours_attended": 40}, as_=training.institution())
    assert ok.status_code == 200
    assert ok.json()["score"] == 80


async def test_whole_numbers_are_integers_as_json_schema_means_them(training: Training) -> None:
    """An integer field takes 20 and 20.0 (JSON Schema's integer, which a client's encoder may
    send), never 20.5, true or "20": a course's capacity, a competition's rounds and a
    众创杯 contest year alike."""
    for capacity, status in ((20.0, 201), (20, 201), (20.5, 422), (True, 422), ("20", 422)):
        response = await training.post("/api/v1/courses", {**COURSE, "capacity": capacity})
        assert response.status_code == status, (capacity, response.text)
        if status == 201:
            assert response.json()["capacity"] == 20
    policy = {"winners": 1.0, "min_total_score": 0}
    assert (await training.post("/api/v1/competitions/policy", policy)).status_code == 201
    event = {"title": "技能赛", "track": "housekeeping", "held_on": "2026-02-01"}
    for rounds, status in ((2.0, 201), (2.5, 422), (True, 422)):
        response = await training.post("/api/v1/competitions", {**event, "rounds": rounds})
        assert response.status_code == status, (rounds, response.text)
    founder = await training.known_worker("创业者")
    me = bearer("worker", founder)
    project = {"name": "星湖月嫂工作室", "idea": "社区上门月嫂", "county": "duanzhou"}
    venture = (await training.post("/api/v1/ventures", project, as_=me)).json()
    path = f"/api/v1/ventures/{venture['id']}/contest-entries"
    for year, status in ((2026.5, 422), ("2026", 422), (2026.0, 201)):
        response = await training.post(path, {"contest_year": year}, as_=me)
        assert response.status_code == status, (year, response.text)
    assert response.json()["contest_year"] == 2026
