"""Employment: one company at a time (also enforced by the database), history, who may act."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from services.kit.ids import new_id
from services.kit.types import utcnow
from services.registry.parties.models import Employment
from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    bearer,
    error_fields,
    problem,
    worker_body,
)


async def test_join_leave_and_history(registry: Registry) -> None:
    first = await registry.company(kind="agency_based")
    second = await registry.company()
    worker = await registry.worker()
    wid = worker["id"]

    joined = await registry.employ(wid, first["id"])
    assert joined["company_id"] == first["id"]
    assert joined["kind"] == "agency_based"  # the company's kind by default
    assert joined["left_at"] is None
    current = await registry.get(f"/api/v1/workers/{wid}")
    assert current["company_id"] == first["id"]
    assert current["employment_kind"] == "agency_based"

    response = await registry.post(
        f"/api/v1/workers/{wid}/employment", {"company_id": second["id"]}, OFFICER
    )
    assert "must leave" in problem(response, 409, "already-employed")["detail"]
    again = await registry.post(
        f"/api/v1/workers/{wid}/employment", {"company_id": first["id"]}, OFFICER
    )
    problem(again, 409, "already-employed")

    left = await registry.client.delete(
        f"/api/v1/workers/{wid}/employment", params={"reason": "合同到期"}, headers=OFFICER
    )
    assert left.status_code == 200, left.text
    assert left.json()["left_at"] is not None
    assert left.json()["leave_reason"] == "合同到期"
    problem(
        await registry.client.delete(f"/api/v1/workers/{wid}/employment", headers=OFFICER),
        409,
        "not-employed",
    )

    rejoined = await registry.employ(wid, second["id"], kind="agency_based")
    assert rejoined["kind"] == "agency_based"
    history = await registry.get(f"/api/v1/workers/{wid}/employments")
    assert [(e["company_id"], e["left_at"] is None) for e in history] == [
        (second["id"], True),
        (first["id"], False),
    ]


async def test_the_database_allows_one_current_employment(registry: Registry) -> None:
    first, second = await registry.company(), await registry.company()
    worker = await registry.worker()
    await registry.employ(worker["id"], first["id"])
    with pytest.raises(IntegrityError):
        async with registry.ctx.db.write() as session:
            session.add(
                Employment(
                    id=new_id(),
                    worker_id=uuid.UUID(worker["id"]),
                    company_id=uuid.UUID(second["id"]),
                    kind="employee_based",
                    joined_at=utcnow(),
                    joined_by="test",
                )
            )
    # Closed rows do not count: history may hold many.
    async with registry.ctx.db.write() as session:
        for company in (first, second):
            session.add(
                Employment(
                    id=new_id(),
                    worker_id=uuid.UUID(worker["id"]),
                    company_id=uuid.UUID(company["id"]),
                    kind="employee_based",
                    joined_at=utcnow(),
                    joined_by="test",
                    left_at=utcnow(),
                )
            )


async def test_company_registering_a_worker_employs_them(registry: Registry) -> None:
    company = await registry.company(kind="agency_based")
    staff = bearer("company", company["id"])
    worker = await registry.worker(as_=staff)
    assert worker["company_id"] == company["id"]
    assert worker["employment_kind"] == "agency_based"

    other = await registry.company()
    response = await registry.post(
        "/api/v1/workers",
        worker_body(employment={"company_id": other["id"], "kind": "employee_based"}),
        staff,
    )
    problem(response, 403, "forbidden")


async def test_officer_registers_with_employment_and_unknown_company_is_named(
    registry: Registry,
) -> None:
    company = await registry.company()
    worker = await registry.worker(employment={"company_id": company["id"]})
    assert worker["company_id"] == company["id"]
    response = await registry.post(
        "/api/v1/workers", worker_body(employment={"company_id": str(uuid.uuid4())}), OFFICER
    )
    assert error_fields(problem(response, 422)) == ["employment.company_id"]
    response = await registry.post(
        f"/api/v1/workers/{worker['id']}/employment", {"company_id": str(uuid.uuid4())}, OFFICER
    )
    assert error_fields(problem(response, 422)) == ["company_id"]


async def test_who_may_join_and_leave(registry: Registry) -> None:
    company = await registry.company()
    other = await registry.company()
    staff = bearer("company", company["id"])
    worker = await registry.worker()
    wid = worker["id"]

    # Company staff employ into their own company only; workers and others never.
    problem(
        await registry.post(
            f"/api/v1/workers/{wid}/employment", {"company_id": other["id"]}, staff
        ),
        403,
    )
    problem(
        await registry.post(
            f"/api/v1/workers/{wid}/employment",
            {"company_id": company["id"]},
            bearer("worker", wid),
        ),
        403,
    )
    joined = await registry.post(
        f"/api/v1/workers/{wid}/employment", {"company_id": company["id"]}, staff
    )
    assert joined.status_code == 201, joined.text

    # Another company may neither see nor end it.
    other_staff = bearer("company", other["id"])
    problem(
        await registry.client.delete(f"/api/v1/workers/{wid}/employment", headers=other_staff), 404
    )
    problem(
        await registry.client.get(f"/api/v1/workers/{wid}/employments", headers=other_staff), 404
    )

    # The worker may leave on their own.
    me = bearer("worker", wid)
    left = await registry.client.delete(f"/api/v1/workers/{wid}/employment", headers=me)
    assert left.status_code == 200, left.text
    # After leaving, the former company no longer sees the worker.
    problem(await registry.client.get(f"/api/v1/workers/{wid}", headers=staff), 404)


async def test_leaving_the_programme_ends_employment(registry: Registry) -> None:
    company = await registry.company()
    worker = await registry.worker(employment={"company_id": company["id"]})
    response = await registry.status(worker["id"], "left", reason="退出")
    assert response.json()["company_id"] is None
    history = await registry.get(f"/api/v1/workers/{worker['id']}/employments")
    assert history[0]["left_at"] is not None
    assert history[0]["leave_reason"] == "left the programme"
    problem(
        await registry.post(
            f"/api/v1/workers/{worker['id']}/employment", {"company_id": company["id"]}, OFFICER
        ),
        409,
        "worker-left",
    )
