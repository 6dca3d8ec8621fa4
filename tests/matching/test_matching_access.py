"""Who may see candidates: one row per endpoint, one column per caller, exact statuses.

Candidates are for those who hire: officers and admins, employers, company staff (any company:
candidates are looking for work) and partner platforms holding ``candidates:read``. A worker
may see only their own entry (how employers see them): 404 for anyone else's, 403 for the list.
"""

from __future__ import annotations

import uuid

import pytest

from services.kit.policy import routes_without_policy
from services.matching.app import create_app
from tests.matching.matching_support import MatchingHarness, certificate_issued, worker_registered
from tests.support.tokens import bearer

HIRERS = {"officer", "admin", "company", "other_company", "employer", "reader"}


def callers(worker: uuid.UUID) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "officer": bearer("officer"),
        "admin": bearer("admin"),
        "self": bearer("worker", worker),
        "other_worker": bearer("worker", uuid.uuid4()),
        "company": bearer("company", uuid.uuid4()),
        "other_company": bearer("company", uuid.uuid4()),
        "employer": bearer("employer", uuid.uuid4()),
        "reader": bearer("partner", uuid.uuid4(), scopes=["candidates:read"]),
        "partner_unscoped": bearer("partner", uuid.uuid4(), scopes=["jobs:read", "credit:read"]),
        "institution": bearer("institution", uuid.uuid4()),
    }


CASES = {
    "list": ("/api/v1/candidates?track=housekeeping", dict.fromkeys(HIRERS, 200)),
    "one": (
        "/api/v1/candidates/{w}",
        {**dict.fromkeys(HIRERS, 200), "self": 200, "other_worker": 404},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_role_matrix(matching: MatchingHarness, case: str) -> None:
    worker = uuid.uuid4()
    await matching.send(worker_registered(worker), certificate_issued(worker))
    template, expected = CASES[case]
    path = template.format(w=worker)
    got = {}
    for caller, headers in callers(worker).items():
        response = await matching.client.get(path, headers=headers)
        got[caller] = response.status_code
        if response.status_code == 200:
            body = response.json()
            [item] = body["items"] if "items" in body else [body]
            assert item["worker_id"] == str(worker)
        else:
            assert response.headers["content-type"].startswith("application/problem+json")
    want = {c: expected.get(c, 401 if c == "anonymous" else 403) for c in callers(worker)}
    assert got == want


async def test_a_worker_asking_for_another_sees_the_same_404_as_for_nobody(
    matching: MatchingHarness,
) -> None:
    other = uuid.uuid4()
    await matching.send(worker_registered(other))
    as_worker = bearer("worker", uuid.uuid4())
    hidden = await matching.client.get(f"/api/v1/candidates/{other}", headers=as_worker)
    nobody_id = uuid.uuid4()
    nobody = await matching.client.get(f"/api/v1/candidates/{nobody_id}", headers=as_worker)
    assert hidden.status_code == nobody.status_code == 404
    assert hidden.json()["detail"].replace(str(other), "?") == nobody.json()["detail"].replace(
        str(nobody_id), "?"
    )


def test_every_route_declares_a_policy_and_the_schemas_do_not_collide_with_credit() -> None:
    app = create_app()
    assert routes_without_policy(app) == []
    document = app.openapi()
    schemas = document["components"]["schemas"]
    assert "CandidateCertificate" in schemas and "CertificateOut" not in schemas
    listing = document["paths"]["/api/v1/candidates"]["get"]
    assert listing["x-jiasao-policy"]["scopes"] == ["candidates:read"]
    assert listing["security"]
