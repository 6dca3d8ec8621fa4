"""Enrolment, results and completion over HTTP, and the event completion emits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import event

from contracts.training import EnrollmentCompleted
from tests.support.apps import context, eventually
from tests.training.training_support import Training

PROBLEM = "application/problem+json"
COMPLETED = "training.enrollment.completed"


async def completed_events(training: Training) -> list[EnrollmentCompleted]:
    """Every completion on the TRAINING stream, once the relay has published the outbox."""
    await eventually(training.all_published)
    envelopes = await training.peer.read("TRAINING", COMPLETED)
    assert all(e.type == EnrollmentCompleted.event_type for e in envelopes)
    assert all(e.source == "/jiasao/training" for e in envelopes)
    return [EnrollmentCompleted.model_validate(e.data) for e in envelopes]


async def test_enrol_record_complete_emits_one_event(training: Training) -> None:
    course = await training.create_course(hours=40, pass_score=60)
    worker_id = await training.known_worker()
    enrollment = await training.enroll(course["id"], worker_id)
    assert enrollment["status"] == "enrolled"
    assert enrollment["passed"] is None
    path = f"/api/v1/enrollments/{enrollment['id']}"

    result_body = {"score": 82.5, "hours_attended": 38}
    result = await training.post(f"{path}/result", json=result_body)
    assert result.status_code == 200, result.text
    assert result.json()["score"] == 82.5
    done = await training.post(f"{path}/complete")
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "completed"
    assert body["passed"] is True

    [event] = await completed_events(training)
    assert event.enrollment_id == enrollment["id"]
    assert event.worker_id == str(worker_id)
    assert event.course_id == course["id"]
    assert event.course_title == course["title"]
    assert event.track == "maternal_infant"
    assert event.training_type == "pre_job"
    assert (event.score, event.hours, event.passed) == (82.5, 38, True)
    assert event.completed_at == datetime.fromisoformat(body["completed_at"])

    # Completing again is refused and emits nothing more.
    again = await training.post(f"{path}/complete")
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["type"].endswith("/already-completed")
    late = await training.post(f"{path}/result", json={"score": 90, "hours_attended": 40})
    assert late.status_code == 409
    assert late.json()["type"].endswith("/already-completed")
    assert len(await completed_events(training)) == 1

    got = await training.get(path)
    assert got.json() == body
    assert got.headers["etag"] == done.headers["etag"]


async def test_failed_completion_is_announced_with_passed_false(training: Training) -> None:
    course = await training.create_course(hours=40, pass_score=60)
    worker_id = await training.known_worker()
    low_score = await training.enroll(course["id"], worker_id)
    other = await training.create_course(title="家政服务员", track="housekeeping", hours=10)
    low_hours = await training.enroll(other["id"], worker_id)
    for enrollment, result in (
        (low_score, {"score": 59, "hours_attended": 40}),
        (low_hours, {"score": 95, "hours_attended": 7.5}),  # 75% of 10 hours
    ):
        path = f"/api/v1/enrollments/{enrollment['id']}"
        assert (await training.post(f"{path}/result", json=result)).status_code == 200
        done = await training.post(f"{path}/complete")
        assert done.status_code == 200
        assert done.json()["passed"] is False

    events = await completed_events(training)
    assert [e.enrollment_id for e in events] == [low_score["id"], low_hours["id"]]
    assert [e.passed for e in events] == [False, False]


async def test_complete_needs_a_result(training: Training) -> None:
    course = await training.create_course()
    enrollment = await training.enroll(course["id"], await training.known_worker())
    response = await training.post(f"/api/v1/enrollments/{enrollment['id']}/complete")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/no-result")


async def test_result_can_be_corrected_before_completion(training: Training) -> None:
    course = await training.create_course()
    enrollment = await training.enroll(course["id"], await training.known_worker())
    path = f"/api/v1/enrollments/{enrollment['id']}"
    first = await training.post(f"{path}/result", json={"score": 40, "hours_attended": 40})
    second = await training.post(f"{path}/result", json={"score": 70, "hours_attended": 40})
    assert second.json()["score"] == 70
    assert second.json()["version"] > first.json()["version"]
    assert (await training.post(f"{path}/complete")).json()["passed"] is True


async def test_result_validation(training: Training) -> None:
    course = await training.create_course()
    enrollment = await training.enroll(course["id"], await training.known_worker())
    path = f"/api/v1/enrollments/{enrollment['id']}/result"
    for body, field in (
        ({"score": 101, "hours_attended": 1}, "score"),
        ({"score": 50, "hours_attended": -1}, "hours_attended"),
        ({"score": 50}, "hours_attended"),
        ({"score": 50, "hours_attended": 1, "grade": "A"}, "grade"),
    ):
        response = await training.post(path, json=body)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_unknown_worker_is_refused_with_a_hint(training: Training) -> None:
    course = await training.create_course()
    response = await training.post(
        "/api/v1/enrollments", json={"course_id": course["id"], "worker_id": str(uuid.uuid4())}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/unknown-worker")
    assert [e["field"] for e in problem["errors"]] == ["worker_id"]
    assert "moment" in problem["detail"]


async def test_unknown_course_and_enrollment_are_404(training: Training) -> None:
    worker_id = await training.known_worker()
    response = await training.post(
        "/api/v1/enrollments", json={"course_id": str(uuid.uuid4()), "worker_id": str(worker_id)}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/not-found")
    for path in ("", "/result", "/complete"):
        url = f"/api/v1/enrollments/{uuid.uuid4()}{path}"
        missing = await (
            training.get(url)
            if not path
            else training.post(
                url, json={"score": 1, "hours_attended": 1} if path == "/result" else None
            )
        )
        assert missing.status_code == 404, path
        assert missing.headers["content-type"] == PROBLEM


async def test_enrolment_body_forbids_extra_fields(training: Training) -> None:
    course = await training.create_course()
    worker_id = await training.known_worker()
    response = await training.post(
        "/api/v1/enrollments",
        json={"course_id": course["id"], "worker_id": str(worker_id), "status": "completed"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["status"]


async def test_one_open_enrolment_per_worker_and_course(training: Training) -> None:
    course = await training.create_course()
    worker_id = await training.known_worker()
    first = await training.enroll(course["id"], worker_id)
    body = {"course_id": course["id"], "worker_id": str(worker_id)}
    duplicate = await training.post("/api/v1/enrollments", json=body)
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == PROBLEM
    assert duplicate.json()["type"].endswith("/already-enrolled")

    # Once completed (here: failed), the worker may enrol again to retake the course.
    path = f"/api/v1/enrollments/{first['id']}"
    await training.post(f"{path}/result", json={"score": 10, "hours_attended": 40})
    await training.post(f"{path}/complete")
    retake = await training.post("/api/v1/enrollments", json=body)
    assert retake.status_code == 201


async def test_list_enrollments_by_worker_and_course(training: Training) -> None:
    course_a = await training.create_course(title="A")
    course_b = await training.create_course(title="B")
    alice, bob = await training.known_worker("李丽"), await training.known_worker("黄芳")
    a1 = await training.enroll(course_a["id"], alice)
    a2 = await training.enroll(course_b["id"], alice)
    b1 = await training.enroll(course_a["id"], bob)

    async def ids(**params: str) -> list[str]:
        page = (await training.get("/api/v1/enrollments", params=params)).json()
        return [e["id"] for e in page["items"]]

    assert await ids(worker_id=str(alice)) == [a1["id"], a2["id"]]
    assert await ids(course_id=course_a["id"]) == [a1["id"], b1["id"]]
    assert await ids(worker_id=str(bob), course_id=course_b["id"]) == []
    first = (await training.get("/api/v1/enrollments", params={"limit": 2})).json()
    rest = (
        await training.get(
            "/api/v1/enrollments", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [e["id"] for e in first["items"] + rest["items"]] == [a1["id"], a2["id"], b1["id"]]
    assert rest["next_cursor"] is None


async def test_concurrent_enrolments_make_one(training: Training) -> None:
    course = await training.create_course()
    worker_id = await training.known_worker()
    body = {"course_id": course["id"], "worker_id": str(worker_id)}
    responses = await asyncio.gather(
        *(training.post("/api/v1/enrollments", json=body) for _ in range(6))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    page = (
        await training.get("/api/v1/enrollments", params={"worker_id": body["worker_id"]})
    ).json()
    assert len(page["items"]) == 1


async def test_concurrent_completions_emit_one_event(training: Training) -> None:
    course = await training.create_course()
    enrollment = await training.enroll(course["id"], await training.known_worker())
    path = f"/api/v1/enrollments/{enrollment['id']}"
    await training.post(f"{path}/result", json={"score": 70, "hours_attended": 40})
    responses = await asyncio.gather(*(training.post(f"{path}/complete") for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    assert len(await completed_events(training)) == 1


@contextmanager
def statements_sent(training: Training) -> Iterator[list[str]]:
    """The SQL statements training sends meanwhile through its write engine or on the plain
    driver (``db.transaction()``), leading space stripped."""
    db = context(training.app).db
    engine = db.write_engine.sync_engine
    sent: list[str] = []

    def record(*args: object) -> None:
        sent.append(str(args[2]).lstrip())

    def observe(sql: str) -> None:
        sent.append(sql.lstrip())

    event.listen(engine, "before_cursor_execute", record)
    db.statement_observers.append(observe)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
        db.statement_observers.remove(observe)


async def test_completion_reads_enrolment_course_and_rules_in_one_statement(
    training: Training,
) -> None:
    """The completion path reads what it decides on once: enrolment, course and rules in
    force come in one joined SELECT (they were four, a quarter of a completion's CPU)."""
    course = await training.create_course(hours=40, pass_score=60)
    enrollment = await training.enroll(course["id"], await training.known_worker())
    path = f"/api/v1/enrollments/{enrollment['id']}"
    await training.post(f"{path}/result", json={"score": 75, "hours_attended": 40})
    with statements_sent(training) as sent:
        done = await training.post(f"{path}/complete")
    assert done.status_code == 200, done.text
    selects = [s for s in sent if s.upper().startswith("SELECT") and "enrollments" in s]
    assert done.json()["passed"] is True and done.json()["rules_version"] == 1
    [statement] = selects
    assert "courses" in statement and "completion_rules" in statement


async def test_completion_stores_what_it_answers_with_one_update(training: Training) -> None:
    """The completion writes the enrolment with one UPDATE and no unit-of-work flush after
    it: what a later read finds is what the completion answered (status, pass, rules
    version, version and its ETag)."""
    course = await training.create_course(hours=40, pass_score=60)
    enrollment = await training.enroll(course["id"], await training.known_worker())
    path = f"/api/v1/enrollments/{enrollment['id']}"
    recorded = await training.post(f"{path}/result", json={"score": 75, "hours_attended": 40})
    with statements_sent(training) as sent:
        done = await training.post(f"{path}/complete")
    assert done.status_code == 200, done.text
    assert len([s for s in sent if s.upper().startswith("UPDATE ENROLLMENTS")]) == 1
    answered = done.json()
    assert answered["status"] == "completed" and answered["passed"] is True
    assert answered["version"] == recorded.json()["version"] + 1
    stored = await training.get(path)
    assert stored.json() == answered
    assert stored.headers["ETag"] == done.headers["ETag"]
    again = await training.post(f"{path}/complete")
    assert again.status_code == 409
