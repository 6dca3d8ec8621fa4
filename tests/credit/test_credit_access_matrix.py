"""Who may read credit's data: one row per endpoint, one column per caller, exact statuses.

The worker W holds certificate C and works for company A (an EmploymentChanged event); W gave
employer E and partner P a ``credit_data`` consent (ConsentChanged events). Callers:

- ``anonymous``: no token → 401 everywhere but verification.
- ``officer``, ``admin``: the programme's staff.
- ``self``: W's own account; ``other_worker``: another worker.
- ``company_a``: W's company; ``company_b``: another company.
- ``employer``: E (consented); ``other_employer``: an employer without consent.
- ``reader``: P with scope ``credit:read`` (consented); ``reader_unconsented``: another
  partner with the scope but no consent; ``partner_unscoped``: P without the scope.
- ``institution``: training institution staff.

Unlisted callers expect 403 (their role may never do this). A 404 means the role may read
*some* workers but not this one, which is not revealed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from services.credit.app import create_app
from services.credit.models import Certificate
from services.kit.policy import routes_without_policy
from tests.credit.credit_support import PROBLEM, Credit
from tests.support.tokens import bearer

CALLERS = (
    "anonymous",
    "officer",
    "admin",
    "self",
    "other_worker",
    "company_a",
    "company_b",
    "employer",
    "other_employer",
    "reader",
    "reader_unconsented",
    "partner_unscoped",
    "institution",
)


@dataclass
class World:
    credit: Credit
    worker: uuid.UUID
    certificate: Certificate
    company_a: uuid.UUID
    employer: uuid.UUID
    partner: uuid.UUID

    def headers(self, caller: str) -> dict[str, str]:
        return {
            "anonymous": {},
            "officer": bearer("officer"),
            "admin": bearer("admin"),
            "self": bearer("worker", self.worker),
            "other_worker": bearer("worker", uuid.uuid4()),
            "company_a": bearer("company", self.company_a),
            "company_b": bearer("company", uuid.uuid4()),
            "employer": bearer("employer", self.employer),
            "other_employer": bearer("employer", uuid.uuid4()),
            "reader": bearer("partner", self.partner, scopes=["credit:read"]),
            "reader_unconsented": bearer("partner", uuid.uuid4(), scopes=["credit:read"]),
            "partner_unscoped": bearer("partner", self.partner, scopes=["candidates:read"]),
            "institution": bearer("institution", uuid.uuid4()),
        }[caller]


async def world(credit: Credit) -> World:
    worker = await credit.known_worker("陈秀英")
    certificate = await credit.issue(worker)
    company_a, employer, partner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await credit.employ(worker, company_a)
    await credit.consent(worker, employer)
    await credit.consent(worker, partner)
    return World(credit, worker, certificate, company_a, employer, partner)


#: Who reads a worker's certificates, and which of those reads are logged for the worker.
PEOPLE_READ = {
    "officer": 200,
    "admin": 200,
    "self": 200,
    "other_worker": 404,
    "company_a": 200,
    "company_b": 404,
    "employer": 200,
    "other_employer": 404,
    "reader": 200,
    "reader_unconsented": 404,
}
LOGGED = {"company_a", "employer", "reader"}
#: Who sees the check code and the masked ID number in a 200.
SEES_CODE = {"officer", "admin", "self"}
SEES_ID_CARD = SEES_CODE | {"company_a"}

CASES: dict[str, tuple[str, dict[str, int]]] = {
    "one certificate": ("/api/v1/certificates/{c}", PEOPLE_READ),
    "worker's certificates": ("/api/v1/workers/{w}/certificates", PEOPLE_READ),
    "filtered list": ("/api/v1/certificates?worker_id={w}", PEOPLE_READ),
    # Everyone's certificates: staff only; roles that read some workers get 403, not 404.
    "unfiltered list": ("/api/v1/certificates", {"officer": 200, "admin": 200}),
    "access log": (
        "/api/v1/workers/{w}/credit/access-log",
        {"officer": 200, "admin": 200, "self": 200, "other_worker": 404},
    ),
    "verify": (
        "/api/v1/verifications/certificates/{n}?code={code}",
        {caller: 200 for caller in CALLERS},
    ),
}


def expected_status(case: str, caller: str) -> int:
    expected = CASES[case][1]
    if caller in expected:
        return expected[caller]
    return 401 if caller == "anonymous" else 403


@pytest.mark.parametrize("case", list(CASES))
async def test_role_matrix(credit: Credit, case: str) -> None:
    w = await world(credit)
    template = CASES[case][0]
    path = template.format(
        c=w.certificate.id, w=w.worker, n=w.certificate.number, code=w.certificate.check_code
    )
    mismatches = []
    for caller in CALLERS:
        response = await credit.client.get(path, headers=w.headers(caller))
        want = expected_status(case, caller)
        if response.status_code != want:
            mismatches.append((caller, want, response.status_code, response.text[:200]))
            continue
        if want != 200:
            assert response.headers["content-type"] == PROBLEM, (caller, response.text)
            if want == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
            continue
        if case in ("one certificate", "worker's certificates", "filtered list"):
            body = response.json()
            [item] = body["items"] if "items" in body else [body]
            assert item["number"] == w.certificate.number
            assert (item["check_code"] == w.certificate.check_code) == (caller in SEES_CODE)
            assert item["check_code"] in (None, w.certificate.check_code)
            assert (item["worker_id_card"] is not None) == (caller in SEES_ID_CARD), caller
    assert mismatches == []
    # Each successful read by a company, employer or partner is logged, and nothing else.
    logged = {(row.reader_role, row.reader_party_id) for row in await credit.access_log(w.worker)}
    people_read = case in ("one certificate", "worker's certificates", "filtered list")
    assert logged == (
        {("company", w.company_a), ("employer", w.employer), ("partner", w.partner)}
        if people_read
        else set()
    )


async def test_a_denied_read_looks_like_a_missing_certificate(credit: Credit) -> None:
    w = await world(credit)
    denied = await credit.client.get(
        f"/api/v1/certificates/{w.certificate.id}", headers=w.headers("company_b")
    )
    missing_id = uuid.uuid4()
    missing = await credit.client.get(
        f"/api/v1/certificates/{missing_id}", headers=w.headers("company_b")
    )
    assert denied.status_code == missing.status_code == 404

    def shape(body: dict[str, object], ident: object) -> dict[str, object]:
        rest = {k: v for k, v in body.items() if k not in ("request_id", "instance")}
        rest["detail"] = str(rest["detail"]).replace(str(ident), "<id>")
        return rest

    assert shape(denied.json(), w.certificate.id) == shape(missing.json(), missing_id)


def test_every_route_declares_a_policy() -> None:
    app: FastAPI = create_app()
    assert routes_without_policy(app) == []
