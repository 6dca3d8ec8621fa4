"""A course run the full way: versioned completion rules, sessions, attendance, exams with
resits, completion under the rules in force, free tuition, refresher prerequisites, capacity
with a waiting list under concurrency, and withdrawal."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from contracts.registry import InstitutionRegistered, WorkerStatusChanged
from contracts.training import EnrollmentCompleted
from services.kit.tables import inbox
from services.training.models import KnownWorker
from tests.support.apps import context, eventually
from tests.support.tokens import bearer
from tests.training.training_support import Training, worker_registered

PROBLEM = "application/problem+json"


async def target_worker(training: Training, groups: list[str]) -> uuid.UUID:
    """A worker the registry announces as belonging to ``groups``."""
    worker_id = uuid.uuid4()
    event = worker_registered(worker_id).model_copy(update={"target_groups": groups})
    await training.peer.publish(event)
    await eventually(lambda: training.worker(worker_id))
    return worker_id


async def _status_is(training: Training, worker_id: uuid.UUID, status: str) -> bool:
    worker = await training.worker(worker_id)
    return worker is not None and worker.status == status


async def handled(training: Training, consumer: str, event_id: str) -> bool:
    async with context(training.app).db.read() as session:
        found = await session.scalar(
            select(inbox.c.event_id).where(
                inbox.c.consumer == consumer, inbox.c.event_id == event_id
            )
        )
    return found is not None


async def status_changed(
    training: Training, worker_id: uuid.UUID, to: str, at: datetime, *, wait: bool = True
) -> str:
    """The registry changes the worker's status; wait (unless told not to) until training has
    it. Returns the event id."""
    envelope = await training.peer.publish(
        WorkerStatusChanged(
            worker_id=str(worker_id),
            from_status="active",
            to_status=to,  # type: ignore[arg-type]
            changed_by="system",
            reason="test",
            changed_at=at,
        )
    )
    if wait:
        await eventually(lambda: _status_is(training, worker_id, to))
    return envelope.id


def problem(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/" + slug), response.text


async def test_course_runs_under_versioned_rules(training: Training) -> None:
    staff = training.institution()
    course = await training.own_course(
        hours=8,
        pass_score=60,
        tuition_fee=1200,
        free_for_target_groups=True,
        curriculum_origin="hong_kong",
        county="duanzhou",
        language="cantonese",
        rules={"min_attendance_share": 0.75, "practical_pass_score": 70, "max_resits": 1},
    )
    assert (course["rules_version"], course["tuition_fee"]) == (1, 1200)
    cid = course["id"]

    # The rules are public, so a worker sees them before enrolling.
    rules = (await training.client.get(f"/api/v1/courses/{cid}/rules")).json()
    assert rules["current"] == {
        "course_id": cid,
        "version": 1,
        "min_attendance_share": 0.75,
        "theory_pass_score": 60,
        "practical_pass_score": 70,
        "max_resits": 1,
        "created_at": rules["current"]["created_at"],
    }

    # The provider is verified once the registry announces the institution for the track.
    assert course["provider_verified"] is False
    await training.peer.publish(
        InstitutionRegistered(
            institution_id=str(training.institution_id),
            name="肇庆市家政职业培训学校",
            credit_code="91441200MA4UJ2NX0T",
            county="duanzhou",
            level="municipal_demonstration",
            tracks=["maternal_infant"],
            registered_at=datetime.now(UTC),
        )
    )

    async def verified() -> bool:
        response = await training.client.get(f"/api/v1/courses/{cid}")
        return bool(response.json()["provider_verified"])

    await eventually(verified)
    assert (await training.own_course(track="elderly_care"))["provider_verified"] is False
    assert (await training.own_course())["provider_verified"] is True

    # The public catalogue filters by type, county and curriculum origin.
    await training.own_course(county="gaoyao")
    for query in (
        {"curriculum_origin": "hong_kong"},
        {"county": "duanzhou", "training_type": "pre_job"},
    ):
        found = (await training.client.get("/api/v1/courses", params=query)).json()["items"]
        assert [c["id"] for c in found] == [cid], query
    assert (await training.client.get("/api/v1/courses", params={"county": "x"})).status_code == 422

    # Sessions: a venue or online, never neither.
    sessions = []
    for day, venue, online in (
        ("2026-03-02", "端州区培训基地 301", False),
        ("2026-03-03", None, True),
    ):
        body = {"held_on": day, "hours": 4, "venue": venue, "online": online}
        response = await training.post(f"/api/v1/courses/{cid}/sessions", body, as_=staff)
        assert response.status_code == 201, response.text
        sessions.append(response.json()["id"])
    nowhere = {"held_on": "2026-03-04", "hours": 2}
    problem(
        await training.post(f"/api/v1/courses/{cid}/sessions", nowhere, as_=staff), 422, "no-venue"
    )
    other_staff = training.institution(uuid.uuid4())
    refused = await training.post(f"/api/v1/courses/{cid}/sessions", nowhere, as_=other_staff)
    assert refused.status_code == 403
    timetable = (await training.client.get(f"/api/v1/courses/{cid}/sessions")).json()
    assert [s["id"] for s in timetable] == sessions

    # A poverty-alleviation target trains free; an ordinary worker pays the tuition.
    poor = await target_worker(training, ["poverty_alleviation"])
    plain = await training.known_worker()
    a = await training.enroll(cid, poor, as_=staff)
    b = await training.enroll(cid, plain, as_=staff)
    assert (a["fee_due"], a["fee_waived"]) == (0, True)
    assert (b["fee_due"], b["fee_waived"]) == (1200, False)
    pa, pb = f"/api/v1/enrollments/{a['id']}", f"/api/v1/enrollments/{b['id']}"

    # Attendance: re-marking replaces; hours are the sum of sessions attended.
    for sid, present in ((sessions[0], True), (sessions[1], False), (sessions[1], True)):
        mark = await training.post(f"{pa}/attendance", {"session_id": sid, "present": present})
        assert mark.status_code == 200, mark.text
    assert (await training.get(pa)).json()["hours_attended"] == 8
    await training.post(f"{pb}/attendance", {"session_id": sessions[0], "present": True})
    foreign = {"session_id": str(uuid.uuid4()), "present": True}
    problem(await training.post(f"{pa}/attendance", foreign), 422, "validation-error")

    # Exams: a failed part may be resat once (max_resits 1), a passed one not at all.
    async def sit(path: str, part: str, score: float) -> Any:
        body = {"part": part, "score": score, "taken_on": "2026-03-05"}
        return await training.post(f"{path}/exams", body, as_=staff)

    first = await sit(pa, "theory", 80)
    assert first.status_code == 201, first.text
    assert (first.json()["attempt"], first.json()["passed"]) == (1, True)
    problem(await sit(pa, "theory", 90), 409, "exam-already-passed")
    low = (await sit(pa, "practical", 65)).json()
    assert (low["passed"], low["rules_version"]) == (False, 1)
    assert (await sit(pa, "practical", 75)).json()["attempt"] == 2
    assert (await sit(pb, "theory", 55)).status_code == 201
    assert (await sit(pb, "theory", 58)).status_code == 201
    problem(await sit(pb, "theory", 99), 409, "resit-limit")

    # A new rules version: open enrolments complete under it; others may not publish it.
    v2 = {"min_attendance_share": 0.5, "theory_pass_score": 60, "practical_pass_score": 60}
    assert (
        await training.post(f"/api/v1/courses/{cid}/rules", v2, as_=other_staff)
    ).status_code == 403
    published = await training.post(f"/api/v1/courses/{cid}/rules", v2, as_=staff)
    assert published.status_code == 201, published.text
    history = (await training.client.get(f"/api/v1/courses/{cid}/rules")).json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert history["current"]["practical_pass_score"] == 60

    done = (await training.post(f"{pa}/complete", as_=staff)).json()
    assert (done["passed"], done["rules_version"]) == (True, 2)
    assert (done["theory_score"], done["practical_score"], done["score"]) == (80, 75, 77.5)
    failed = (await training.post(f"{pb}/complete", as_=staff)).json()
    assert (failed["passed"], failed["theory_score"], failed["hours_attended"]) == (False, 58, 4)
    problem(await sit(pa, "practical", 80), 409, "already-completed")

    await eventually(training.all_published)
    events = [
        EnrollmentCompleted.model_validate(e.data)
        for e in await training.peer.read("TRAINING", EnrollmentCompleted.subject)
    ]
    mine = next(e for e in events if e.enrollment_id == a["id"])
    assert (mine.passed, mine.rules_version, mine.theory_score, mine.practical_score) == (
        True,
        2,
        80,
        75,
    )

    # The worker reads their own exams; another worker cannot see they exist.
    own = await training.get(f"{pa}/exams", as_=bearer("worker", poor))
    assert [(x["part"], x["attempt"]) for x in own.json()] == [
        ("theory", 1),
        ("practical", 1),
        ("practical", 2),
    ]
    assert (await training.get(f"{pa}/exams", as_=bearer("worker", plain))).status_code == 404
    marks = (await training.get(f"{pa}/attendance", as_=bearer("worker", poor))).json()
    assert sorted((m["present"], m["hours"]) for m in marks) == [(True, 4), (True, 4)]

    # A refresher (回炉) course in the track needs an earlier pass in it.
    refresher = await training.own_course(training_type="refresher", hours=8)
    problem(
        await training.post(
            "/api/v1/enrollments",
            {"course_id": refresher["id"], "worker_id": str(plain)},
            as_=staff,
        ),
        409,
        "prerequisite-missing",
    )
    assert (await training.enroll(refresher["id"], poor, as_=staff))["status"] == "enrolled"

    # The lifelong skills record: everything, in time order, for the worker and officers.
    path = f"/api/v1/skills-records/{poor}"
    record = (await training.get(path, as_=bearer("worker", poor))).json()["items"]
    kinds = [i["kind"] for i in record]
    assert sorted(kinds) == sorted(
        [
            *("enrolled", "attended", "attended", "exam_theory", "exam_practical"),
            *("exam_practical", "completed", "enrolled"),
        ]
    )
    assert kinds[0] == "enrolled" and kinds[-1] == "enrolled"  # the refresher came last
    assert [i["at"] for i in record] == sorted(i["at"] for i in record)
    completed = next(i for i in record if i["kind"] == "completed")
    assert (completed["passed"], completed["rules_version"]) == (True, 2)
    assert (await training.get(path)).json()["items"] == record
    assert (await training.get(path, as_=bearer("worker", plain))).status_code == 404
    assert (await training.get(path, as_=staff)).status_code == 403

    # Eligibility follows the registry status: a suspended worker may not enrol; a status
    # change older than the stored one is ignored; reinstated, the worker enrols.
    now = datetime.now(UTC)
    await status_changed(training, plain, "suspended", now)
    body = {"course_id": cid, "worker_id": str(plain)}
    problem(await training.post("/api/v1/enrollments", body, as_=staff), 409, "worker-not-eligible")
    await status_changed(training, plain, "active", now + timedelta(minutes=1))
    stale = await status_changed(training, plain, "left", now - timedelta(minutes=1), wait=False)
    await eventually(lambda: handled(training, "training-worker-status", stale))
    assert await _status_is(training, plain, "active")
    assert (await training.enroll(cid, plain, as_=staff))["status"] == "enrolled"


async def test_capacity_holds_under_concurrent_enrolments(training: Training) -> None:
    course = await training.own_course(capacity=20)
    workers = [uuid.uuid4() for _ in range(50)]
    for worker_id in workers:
        await training.peer.publish(worker_registered(worker_id))

    async def all_known() -> bool:
        async with context(training.app).db.read() as session:
            known = await session.scalar(
                select(func.count())
                .select_from(KnownWorker)
                .where(KnownWorker.worker_id.in_(workers))
            )
        return known == len(workers)

    await eventually(all_known)

    async def enrol(worker_id: uuid.UUID) -> dict[str, Any]:
        response = await training.post(
            "/api/v1/enrollments", {"course_id": course["id"]}, as_=bearer("worker", worker_id)
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    results = await asyncio.gather(*(enrol(w) for w in workers))
    statuses = [r["status"] for r in results]
    assert (statuses.count("enrolled"), statuses.count("waiting")) == (20, 30)

    # A withdrawal frees a seat for the worker who has waited longest.
    seated = next(r for r in results if r["status"] == "enrolled")
    waiting = sorted(
        (r for r in results if r["status"] == "waiting"), key=lambda r: (r["enrolled_at"], r["id"])
    )
    owner = bearer("worker", uuid.UUID(seated["worker_id"]))
    stranger = bearer("worker", uuid.UUID(waiting[-1]["worker_id"]))
    path = f"/api/v1/enrollments/{seated['id']}/withdraw"
    assert (await training.post(path, as_=stranger)).status_code == 404
    left = await training.post(path, as_=owner)
    assert left.status_code == 200, left.text
    assert left.json()["status"] == "withdrawn"
    problem(await training.post(path, as_=owner), 409, "not-open")
    promoted = (await training.get(f"/api/v1/enrollments/{waiting[0]['id']}")).json()
    assert promoted["status"] == "enrolled"
    # A waiting worker neither attends nor sits exams.
    still_waiting = f"/api/v1/enrollments/{waiting[1]['id']}/exams"
    body = {"part": "theory", "score": 70, "taken_on": "2026-03-05"}
    problem(await training.post(still_waiting, body), 409, "not-enrolled")
