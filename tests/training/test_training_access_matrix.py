"""Each role's boundaries in training: one row per endpoint, one column per caller.

The worker under test (W) is employed by company A and enrolled in a course of institution I.
Callers:

- ``anonymous``: no token → 401 except on the public catalogue.
- ``officer``, ``admin``: the programme's staff.
- ``institution`` (I's staff), ``other_institution``.
- ``self``: W's own worker account; ``other_worker``: another known worker.
- ``company_a``: W's company; ``company_b``: another company.
- ``employer``; ``scoped_partner`` (a partner holding every scope partners are given) and
  ``partner`` (no scopes): no partner scope opens any training route.

Unlisted callers expect 403 (their role may never do this), anonymous 401. A 404 means the
role may do this to *some* records but not this one, which is not revealed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.tokens import bearer
from tests.training.training_support import COURSE, Training

CALLERS = (
    "anonymous",
    "officer",
    "admin",
    "institution",
    "other_institution",
    "self",
    "other_worker",
    "company_a",
    "company_b",
    "employer",
    "scoped_partner",
    "partner",
)

PARTNER_SCOPES = ["workers:read", "candidates:read", "credit:read", "jobs:write"]


@dataclass
class Scene:
    """One caller's fresh records: W, W's course at I and (when the case needs it) W's
    enrolment, so one caller's allowed change cannot affect the next."""

    training: Training
    company_a: uuid.UUID
    worker: uuid.UUID
    other_worker: uuid.UUID
    course: str
    enrollment: str | None
    session: str | None = None

    def headers(self, caller: str) -> Mapping[str, str]:
        return {
            "anonymous": {},
            "officer": bearer("officer"),
            "admin": bearer("admin"),
            "institution": self.training.institution(),
            "other_institution": self.training.institution(uuid.uuid4()),
            "self": bearer("worker", self.worker),
            "other_worker": bearer("worker", self.other_worker),
            "company_a": bearer("company", self.company_a),
            "company_b": bearer("company", uuid.uuid4()),
            "employer": bearer("employer", uuid.uuid4()),
            "scoped_partner": bearer("partner", uuid.uuid4(), scopes=PARTNER_SCOPES),
            "partner": bearer("partner", uuid.uuid4()),
        }[caller]


@dataclass(frozen=True)
class Case:
    method: str
    #: Path template: {c} W's course, {e} W's enrolment in it, {w} W.
    path: str
    expected: dict[str, int]
    body: Callable[[Scene], Any] | None = None
    #: "enrolled": W is enrolled; "result": and a result is recorded; "session": W is
    #: enrolled and the course has a session.
    setup: str = ""
    public: bool = False

    def status_for(self, caller: str) -> int:
        if caller == "anonymous" and not self.public:
            return 401
        return self.expected.get(caller, 403)


EVERYONE = {caller: 200 for caller in CALLERS}
RUNS = {"officer": 200, "admin": 200, "institution": 200, "other_institution": 404}
READS = {
    **RUNS,
    "self": 200,
    "company_a": 200,
    "other_worker": 404,
    "company_b": 404,
}

CASES: dict[str, Case] = {
    "list courses": Case("GET", "/api/v1/courses", EVERYONE, public=True),
    "read course": Case("GET", "/api/v1/courses/{c}", EVERYONE, public=True),
    "create course": Case(
        "POST",
        "/api/v1/courses",
        # Either institution's staff may create one; it is then theirs (see test_training_access).
        {"officer": 201, "admin": 201, "institution": 201, "other_institution": 201},
        body=lambda scene: COURSE,
    ),
    "create course of institution I": Case(
        "POST",
        "/api/v1/courses",
        {"officer": 201, "admin": 201, "institution": 201, "other_institution": 403},
        body=lambda scene: {**COURSE, "institution_id": str(scene.training.institution_id)},
    ),
    "enrol W in I's course": Case(
        "POST",
        "/api/v1/enrollments",
        {
            "officer": 201,
            "admin": 201,
            "institution": 201,
            "other_institution": 403,
            "self": 201,
            "other_worker": 403,
        },
        body=lambda scene: {"course_id": scene.course, "worker_id": str(scene.worker)},
    ),
    "enrol without naming the worker": Case(
        "POST",
        "/api/v1/enrollments",
        # A worker enrols themself; everyone else must name the worker.
        {
            "officer": 422,
            "admin": 422,
            "institution": 422,
            "other_institution": 422,
            "self": 201,
            "other_worker": 201,
        },
        body=lambda scene: {"course_id": scene.course},
    ),
    "record W's result": Case(
        "POST",
        "/api/v1/enrollments/{e}/result",
        RUNS,
        body=lambda scene: {"score": 100, "hours_attended": 40},
        setup="enrolled",
    ),
    "complete W's enrolment": Case(
        "POST", "/api/v1/enrollments/{e}/complete", RUNS, setup="result"
    ),
    "schedule a session of I's course": Case(
        "POST",
        "/api/v1/courses/{c}/sessions",
        # The catalogue is public, so another institution's course is 403, not 404.
        {"officer": 201, "admin": 201, "institution": 201, "other_institution": 403},
        body=lambda scene: {"held_on": "2026-03-02", "hours": 4, "venue": "端州区培训中心"},
    ),
    "publish rules of I's course": Case(
        "POST",
        "/api/v1/courses/{c}/rules",
        {"officer": 201, "admin": 201, "institution": 201, "other_institution": 403},
        body=lambda scene: {"min_attendance_share": 0.9},
    ),
    "mark W's attendance": Case(
        "POST",
        "/api/v1/enrollments/{e}/attendance",
        RUNS,
        body=lambda scene: {"session_id": scene.session, "present": True},
        setup="session",
    ),
    "record W's exam": Case(
        "POST",
        "/api/v1/enrollments/{e}/exams",
        {"officer": 201, "admin": 201, "institution": 201, "other_institution": 404},
        body=lambda scene: {"part": "theory", "score": 100, "taken_on": "2026-03-05"},
        setup="enrolled",
    ),
    "withdraw W": Case(
        "POST",
        "/api/v1/enrollments/{e}/withdraw",
        {**RUNS, "self": 200, "other_worker": 404},
        setup="enrolled",
    ),
    "read W's skills record": Case(
        "GET",
        "/api/v1/skills-records/{w}",
        {"officer": 200, "admin": 200, "self": 200, "other_worker": 404},
        setup="enrolled",
    ),
    "read W's enrolment": Case("GET", "/api/v1/enrollments/{e}", READS, setup="enrolled"),
    "list enrolments": Case(
        "GET",
        "/api/v1/enrollments",
        # Each sees a page of what is theirs (contents: test_training_access).
        {caller: 200 for caller in READS},
        setup="enrolled",
    ),
}


async def scene_for(training: Training, company_a: uuid.UUID, setup: str) -> Scene:
    worker = await training.known_worker()
    await training.employ(worker, company_a)
    course = await training.own_course()
    enrollment = None
    if setup:
        enrollment = (await training.enroll(course["id"], worker))["id"]
    session = None
    if setup == "session":
        held = {"held_on": "2026-03-02", "hours": 4, "online": True}
        created = await training.post(f"/api/v1/courses/{course['id']}/sessions", held)
        assert created.status_code == 201, created.text
        session = created.json()["id"]
    if setup == "result":
        result = {"score": 90, "hours_attended": 40}
        recorded = await training.post(f"/api/v1/enrollments/{enrollment}/result", result)
        assert recorded.status_code == 200, recorded.text
    return Scene(
        training,
        company_a,
        worker,
        other_worker=await training.known_worker("黄芳"),
        course=course["id"],
        enrollment=enrollment,
        session=session,
    )


@pytest.mark.parametrize("name", list(CASES))
async def test_access_matrix(training: Training, name: str) -> None:
    case = CASES[name]
    company_a = uuid.uuid4()
    mismatches = []
    for caller in CALLERS:
        scene = await scene_for(training, company_a, case.setup)
        path = case.path.format(c=scene.course, e=scene.enrollment, w=scene.worker)
        kwargs: dict[str, Any] = {"headers": dict(scene.headers(caller))}
        if case.body is not None:
            kwargs["json"] = case.body(scene)
        response = await training.client.request(case.method, path, **kwargs)
        if response.status_code != case.status_for(caller):
            mismatches.append(
                (caller, case.status_for(caller), response.status_code, response.text[:200])
            )
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
    assert not mismatches, mismatches
