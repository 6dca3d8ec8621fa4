"""Each role's boundaries through the HTTP API: one row per endpoint, one column per caller.

The worker under test (W) is employed by company A. Callers:

- ``anonymous``: no token → 401 everywhere.
- ``officer``, ``admin``: the programme's staff.
- ``self``: W's own worker account; ``other_worker``: some other worker.
- ``company_a``: W's company; ``company_b``: another company.
- ``institution`` (institution I's staff), ``other_institution``.
- ``employer`` (employer E), ``other_employer``.
- ``reader``: partner with scope ``workers:read``; ``partner``: a partner without it.

Unlisted callers expect 403 (their role may never do this), anonymous 401. A 404 means the
role may do this to *some* records but not this one, which is not revealed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.nats import NatsServer
from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    bearer,
    company_body,
    consent_body,
    employer_body,
    institution_body,
    partner_body,
    running_registry,
    worker_body,
)

CALLERS = (
    "anonymous",
    "officer",
    "admin",
    "self",
    "other_worker",
    "company_a",
    "company_b",
    "institution",
    "other_institution",
    "employer",
    "other_employer",
    "reader",
    "partner",
)


@dataclass
class World:
    registry: Registry
    company_a: str
    company_b: str
    institution: str
    employer: str
    partner: str

    def headers(self, caller: str, worker_id: str) -> Mapping[str, str]:
        return {
            "anonymous": {},
            "officer": bearer("officer"),
            "admin": bearer("admin"),
            "self": bearer("worker", worker_id),
            "other_worker": bearer("worker", uuid.uuid4()),
            "company_a": bearer("company", self.company_a),
            "company_b": bearer("company", self.company_b),
            "institution": bearer("institution", self.institution),
            "other_institution": bearer("institution", uuid.uuid4()),
            "employer": bearer("employer", self.employer),
            "other_employer": bearer("employer", uuid.uuid4()),
            "reader": bearer("partner", self.partner, scopes=["workers:read"]),
            "partner": bearer("partner", self.partner, scopes=["jobs:write"]),
        }[caller]

    async def fresh_worker(self, employed: bool = True) -> str:
        body = worker_body(employment={"company_id": self.company_a} if employed else None)
        return (await self.registry.created("/api/v1/workers", body))["id"]


@dataclass(frozen=True)
class Case:
    method: str
    #: Path template: {w} worker, {a} company A, {i} institution, {e} employer, {p} partner.
    path: str
    expected: dict[str, int]
    body: Callable[[World], Any] | None = None
    if_match: bool = False
    employed: bool = True

    def status_for(self, caller: str) -> int:
        if caller == "anonymous":
            return 401
        return self.expected.get(caller, 403)


OFFICERS_ONLY = {"officer": 200, "admin": 200}
REGISTER = {"officer": 201, "admin": 201}

CASES: dict[str, Case] = {
    "read worker": Case(
        "GET",
        "/api/v1/workers/{w}",
        {
            **OFFICERS_ONLY,
            "self": 200,
            "company_a": 200,
            "reader": 200,
            "other_worker": 404,
            "company_b": 404,
        },
    ),
    "list workers": Case(
        "GET",
        "/api/v1/workers",
        {**OFFICERS_ONLY, "company_a": 200, "company_b": 200, "reader": 200},
    ),
    "register worker": Case(
        "POST",
        "/api/v1/workers",
        {**REGISTER, "company_a": 201, "company_b": 201},
        body=lambda world: worker_body(),
    ),
    "update worker": Case(
        "PATCH",
        "/api/v1/workers/{w}",
        {**OFFICERS_ONLY, "self": 200, "company_a": 200, "other_worker": 404, "company_b": 404},
        body=lambda world: {"languages": ["hakka"]},
        if_match=True,
    ),
    "verify worker": Case(
        "POST",
        "/api/v1/workers/{w}/verify",
        {**OFFICERS_ONLY, "company_a": 200, "company_b": 404},
    ),
    "worker leaves the programme": Case(
        "POST",
        "/api/v1/workers/{w}/status",
        # A company may not end someone's time in the programme: role allowed, move refused.
        {**OFFICERS_ONLY, "self": 200, "company_a": 403, "other_worker": 404, "company_b": 404},
        body=lambda world: {"to": "left", "reason": "matrix"},
    ),
    "status history": Case(
        "GET",
        "/api/v1/workers/{w}/status-history",
        {**OFFICERS_ONLY, "self": 200, "company_a": 200, "other_worker": 404, "company_b": 404},
    ),
    "employment history": Case(
        "GET",
        "/api/v1/workers/{w}/employments",
        {**OFFICERS_ONLY, "self": 200, "company_a": 200, "other_worker": 404, "company_b": 404},
    ),
    "employ into company A": Case(
        "POST",
        "/api/v1/workers/{w}/employment",
        {"officer": 201, "admin": 201, "company_a": 201, "company_b": 403},
        body=lambda world: {"company_id": world.company_a},
        employed=False,
    ),
    "leave company": Case(
        "DELETE",
        "/api/v1/workers/{w}/employment",
        {**OFFICERS_ONLY, "self": 200, "company_a": 200, "other_worker": 404, "company_b": 404},
    ),
    "grant consent": Case(
        "POST",
        "/api/v1/workers/{w}/consents",
        {"self": 201, "other_worker": 404},
        body=lambda world: consent_body(),
    ),
    "read consents": Case(
        "GET", "/api/v1/workers/{w}/consents", {**OFFICERS_ONLY, "self": 200, "other_worker": 404}
    ),
    "lookup by ID card": Case(
        "POST",
        "/api/v1/workers/lookup",
        # Officers get through to the lookup itself, which knows no such number.
        {"officer": 404, "admin": 404},
        body=lambda world: {"id_card_number": "11010519491231002X"},
    ),
    "read company A": Case(
        "GET", "/api/v1/companies/{a}", {**OFFICERS_ONLY, "company_a": 200, "company_b": 404}
    ),
    "update company A": Case(
        "PATCH",
        "/api/v1/companies/{a}",
        {**OFFICERS_ONLY, "company_a": 200, "company_b": 404},
        body=lambda world: {"address": "端州区新址"},
        if_match=True,
    ),
    "list companies": Case("GET", "/api/v1/companies", OFFICERS_ONLY),
    "register company": Case(
        "POST", "/api/v1/companies", REGISTER, body=lambda world: company_body()
    ),
    "read institution": Case(
        "GET",
        "/api/v1/institutions/{i}",
        {**OFFICERS_ONLY, "institution": 200, "other_institution": 404},
    ),
    "update institution": Case(
        "PATCH",
        "/api/v1/institutions/{i}",
        {**OFFICERS_ONLY, "institution": 200, "other_institution": 404},
        body=lambda world: {"address": "四会市新址"},
        if_match=True,
    ),
    "list institutions": Case("GET", "/api/v1/institutions", OFFICERS_ONLY),
    "register institution": Case(
        "POST", "/api/v1/institutions", REGISTER, body=lambda world: institution_body()
    ),
    "read employer": Case(
        "GET", "/api/v1/employers/{e}", {**OFFICERS_ONLY, "employer": 200, "other_employer": 404}
    ),
    "list employers": Case("GET", "/api/v1/employers", OFFICERS_ONLY),
    "register employer": Case(
        "POST", "/api/v1/employers", REGISTER, body=lambda world: employer_body()
    ),
    "read partner": Case("GET", "/api/v1/partners/{p}", OFFICERS_ONLY),
    "list partners": Case("GET", "/api/v1/partners", OFFICERS_ONLY),
    "register partner": Case(
        "POST", "/api/v1/partners", REGISTER, body=lambda world: partner_body()
    ),
}


@pytest.fixture
async def world(backend: str, tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[World]:
    async with running_registry(backend, tmp_path, nats_server.url) as registry:
        yield World(
            registry,
            company_a=(await registry.company())["id"],
            company_b=(await registry.company())["id"],
            institution=(await registry.institution())["id"],
            employer=(await registry.employer())["id"],
            partner=(await registry.partner())["id"],
        )


@pytest.mark.parametrize("name", list(CASES))
async def test_access_matrix(world: World, name: str) -> None:
    case = CASES[name]
    client = world.registry.client
    mismatches = []
    for caller in CALLERS:
        # A fresh worker per caller: one caller's allowed change must not affect the next.
        worker_id = await world.fresh_worker(employed=case.employed)
        path = case.path.format(
            w=worker_id,
            a=world.company_a,
            i=world.institution,
            e=world.employer,
            p=world.partner,
        )
        headers = dict(world.headers(caller, worker_id))
        if case.if_match:
            headers["If-Match"] = "*"
        kwargs: dict[str, Any] = {"headers": headers}
        if case.body is not None:
            kwargs["json"] = case.body(world)
        response = await client.request(case.method, path, **kwargs)
        if response.status_code != case.status_for(caller):
            mismatches.append(
                (caller, case.status_for(caller), response.status_code, response.text[:200])
            )
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
    assert not mismatches, mismatches


async def test_masking_by_caller(world: World) -> None:
    """Plaintext numbers for the worker themself, officers and admins; masked for the rest."""
    worker_id = await world.fresh_worker()
    full = await world.registry.get(f"/api/v1/workers/{worker_id}", OFFICER)
    for caller, masked in (
        ("officer", False),
        ("admin", False),
        ("self", False),
        ("company_a", True),
        ("reader", True),
    ):
        body = await world.registry.get(
            f"/api/v1/workers/{worker_id}", world.headers(caller, worker_id)
        )
        assert body["masked"] is masked, caller
        if masked:
            assert body["id_card_number"] != full["id_card_number"]
            assert body["id_card_number"][6:14] == "********"
            assert body["phone"][3:7] == "****"
        else:
            assert body["id_card_number"] == full["id_card_number"]
            assert body["phone"] == full["phone"]


async def test_every_party_route_refuses_anonymous_callers(world: World) -> None:
    schema = world.registry.app.openapi()
    sample = str(uuid.uuid4())
    checked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith(
            ("/api/v1/workers", "/api/v1/companies", "/api/v1/institutions", "/api/v1/employers")
        ) and not (path.startswith("/api/v1/partners") and "clients" not in path):
            continue
        concrete = path
        for name in (
            "worker_id",
            "company_id",
            "institution_id",
            "employer_id",
            "partner_id",
            "consent_id",
        ):
            concrete = concrete.replace("{" + name + "}", sample)
        for method in operations:
            response = await world.registry.client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            checked += 1
    assert checked >= 25
