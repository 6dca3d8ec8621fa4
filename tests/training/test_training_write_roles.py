"""Every write of training, for every role: the roles issue 16 and issue 9 give each write,
written out here as the specification, and what the running app answers each caller.

- Courses (create, rules, sessions), attendance, exams, results and completion: officers and
  institution staff (their own courses, see test_training_access_matrix); never a worker.
- Enrolment and withdrawal: also the worker (themself only).
- Subsidy claims: filed by officers and institutions; policy, review and payment officers only.
- Competitions: officers run them (policy, create, judge, finish); a worker registers themself.
- Training bases: officers only. Apprenticeships: officers and the company (its own).
- Entrepreneurship: the founder (a worker) opens the project, moves its stage, asks for
  financing, claims the start-up subsidy and enters 众创杯; officers give guidance, refer the
  project, move financing, review and pay, and record contest results.

A caller outside a write's roles gets 403 (anonymous 401) before anything is read or written;
a caller inside them gets past the role check (here to a 404 or 422 for the random ids and
empty bodies). The test also fails when the app has a write this table does not list, so a
new write cannot arrive without its roles being decided here.
"""

from __future__ import annotations

import uuid

from services.kit.policy import route_policies
from tests.support.tokens import bearer
from tests.training.training_support import Training

STAFF = {"officer", "admin"}
RUNS_COURSES = STAFF | {"institution"}

#: (method, path) -> the roles that may make the write (partners: none, whatever scopes).
WRITES: dict[tuple[str, str], set[str]] = {
    ("POST", "/api/v1/courses"): RUNS_COURSES,
    ("POST", "/api/v1/courses/{course_id}/rules"): RUNS_COURSES,
    ("POST", "/api/v1/courses/{course_id}/sessions"): RUNS_COURSES,
    ("POST", "/api/v1/enrollments"): RUNS_COURSES | {"worker"},
    ("POST", "/api/v1/enrollments/{enrollment_id}/attendance"): RUNS_COURSES,
    ("POST", "/api/v1/enrollments/{enrollment_id}/exams"): RUNS_COURSES,
    ("POST", "/api/v1/enrollments/{enrollment_id}/result"): RUNS_COURSES,
    ("POST", "/api/v1/enrollments/{enrollment_id}/complete"): RUNS_COURSES,
    ("POST", "/api/v1/enrollments/{enrollment_id}/withdraw"): RUNS_COURSES | {"worker"},
    ("POST", "/api/v1/subsidies/policy"): STAFF,
    ("POST", "/api/v1/subsidies"): RUNS_COURSES,
    ("POST", "/api/v1/subsidies/{claim_id}/review"): STAFF,
    ("POST", "/api/v1/subsidies/{claim_id}/pay"): STAFF,
    ("POST", "/api/v1/competitions/policy"): STAFF,
    ("POST", "/api/v1/competitions"): STAFF,
    ("POST", "/api/v1/competitions/{competition_id}/entries"): STAFF | {"worker"},
    ("POST", "/api/v1/competitions/{competition_id}/scores"): STAFF,
    ("POST", "/api/v1/competitions/{competition_id}/finish"): STAFF,
    ("POST", "/api/v1/training-bases/policy"): STAFF,
    ("POST", "/api/v1/training-bases"): STAFF,
    ("POST", "/api/v1/training-bases/{base_id}/residents"): STAFF,
    ("POST", "/api/v1/apprenticeships/policy"): STAFF,
    ("POST", "/api/v1/apprenticeships"): STAFF | {"company"},
    ("POST", "/api/v1/apprenticeships/{apprenticeship_id}/progress"): STAFF | {"company"},
    ("POST", "/api/v1/apprenticeships/{apprenticeship_id}/complete"): STAFF | {"company"},
    ("POST", "/api/v1/ventures/policy"): STAFF,
    ("POST", "/api/v1/ventures"): STAFF | {"worker"},
    ("POST", "/api/v1/ventures/{venture_id}/stage"): STAFF | {"worker"},
    ("POST", "/api/v1/ventures/{venture_id}/guidance"): STAFF,
    ("POST", "/api/v1/ventures/{venture_id}/referrals"): STAFF,
    ("POST", "/api/v1/ventures/{venture_id}/referrals/{referral_id}/status"): STAFF,
    ("POST", "/api/v1/ventures/{venture_id}/financing"): STAFF | {"worker"},
    ("POST", "/api/v1/ventures/{venture_id}/financing/{request_id}/status"): STAFF,
    ("POST", "/api/v1/ventures/{venture_id}/startup-subsidy"): STAFF | {"worker"},
    ("POST", "/api/v1/ventures/{venture_id}/startup-subsidy/review"): STAFF,
    ("POST", "/api/v1/ventures/{venture_id}/startup-subsidy/pay"): STAFF,
    ("POST", "/api/v1/ventures/{venture_id}/contest-entries"): STAFF | {"worker"},
    ("POST", "/api/v1/ventures/{venture_id}/contest-entries/{contest_year}/result"): STAFF,
    # Operators' dead-letter replay: admins only.
    ("POST", "/internal/dead-letters/{dead_letter_id}/replay"): {"admin"},
}

ROLES = ("officer", "admin", "institution", "worker", "company", "employer")
PARTNER_SCOPES = ["workers:read", "candidates:read", "credit:read", "jobs:write", "jobs:read"]


def callers() -> dict[str, dict[str, str]]:
    """Each caller's headers, minted now (tokens are short-lived)."""
    headers = {role: bearer(role, uuid.uuid4()) for role in ROLES}  # type: ignore[arg-type]
    headers["scoped_partner"] = bearer("partner", uuid.uuid4(), scopes=PARTNER_SCOPES)
    headers["partner"] = bearer("partner", uuid.uuid4())
    headers["anonymous"] = {}
    return headers


def concrete(path: str) -> str:
    """The path with every parameter filled: ids that name nothing, a contest year."""
    for name in ("course_id", "enrollment_id", "claim_id", "competition_id", "base_id"):
        path = path.replace("{" + name + "}", str(uuid.uuid4()))
    for name in ("apprenticeship_id", "venture_id", "request_id", "referral_id"):
        path = path.replace("{" + name + "}", str(uuid.uuid4()))
    path = path.replace("{dead_letter_id}", "1").replace("{contest_year}", "2026")
    assert "{" not in path, path
    return path


def test_the_table_lists_every_write_of_the_app() -> None:
    from services.training.app import create_app

    writes = {key for key in route_policies(create_app()) if key[0] != "GET"}
    assert writes == set(WRITES)


async def test_every_write_admits_only_its_roles(training: Training) -> None:
    wrong: list[str] = []
    for (method, template), roles in WRITES.items():
        path = concrete(template)
        for caller, headers in callers().items():
            response = await training.client.request(method, path, json={}, headers=headers)
            if caller == "anonymous":
                expected_ok = response.status_code == 401
            elif caller in roles:
                expected_ok = response.status_code not in (401, 403)
            else:
                expected_ok = response.status_code == 403
            if not expected_ok:
                wrong.append(f"{method} {template} as {caller}: {response.status_code}")
            if response.status_code >= 500:
                wrong.append(f"{method} {template} as {caller}: server error {response.text}")
    assert wrong == []
