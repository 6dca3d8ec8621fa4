"""GET /api/v1/statistics/{cards,credit,insurance}: exact figures from workers announced as the
registry would, certificates that issue cards and insurance, listings and complaints made
through the API; county and period filters; bad filters; officers only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.registry import CompanyRegistered
from services.credit.credentials.cards import today
from services.kit.types import utcnow
from tests.credit.credit_support import PROBLEM, Credit, officer
from tests.credit.test_credentials_cards import Scenario, registered
from tests.credit.test_credit_files import file_where, post
from tests.support.tokens import bearer


async def report(credit: Credit, topic: str, **params: str) -> dict[str, list[dict[str, Any]]]:
    response = await credit.client.get(
        f"/api/v1/statistics/{topic}", params=params, headers=officer()
    )
    assert response.status_code == 200, response.text
    return {f["key"]: f["rows"] for f in response.json()["figures"]}


async def active_worker(credit: Credit, county: str, *, card: bool) -> uuid.UUID:
    scenario = Scenario(credit, uuid.uuid4())
    event = registered(scenario.worker_id, uuid.uuid4(), today() + timedelta(days=400))
    await credit.peer.publish(event.model_copy(update={"county": county}))
    await file_where(credit, "worker", scenario.worker_id)
    if card:
        await credit.issue(scenario.worker_id)
        await scenario.becomes("active", "green")
    return scenario.worker_id


async def test_card_credit_and_insurance_statistics(credit: Credit) -> None:
    month, policy_month = utcnow().strftime("%Y-%m"), today().strftime("%Y-%m")
    w1 = await active_worker(credit, "gaoyao", card=True)
    w2 = await active_worker(credit, "sihui", card=False)
    w3 = await active_worker(credit, "sihui", card=True)
    company = uuid.uuid4()
    await credit.peer.publish(
        CompanyRegistered(
            company_id=str(company),
            name="肇庆家政服务有限公司",
            credit_code="91441200MA4UJ1234X",
            county="duanzhou",
            kind="employee_based",
            honours=[],
            registered_at=datetime.now(UTC),
        )
    )
    await file_where(credit, "company", company)

    # Cards: coverage of active workers against the 100 % goal.
    response = await credit.client.get("/api/v1/statistics/cards", headers=officer())
    gauge = response.json()["figures"][0]
    assert (gauge["key"], gauge["rows"], gauge["target"]) == (
        "card_coverage",
        [{"value": 66.7}],
        100,
    )
    got = await report(credit, "cards")
    assert got["card_coverage_by_county"] == [
        {"county": "gaoyao", "value": 100.0},
        {"county": "sihui", "value": 50.0},
    ]
    assert got["card_holders_and_active_workers_by_county"] == [
        {"county": "gaoyao", "measure": "active_workers", "value": 1},
        {"county": "gaoyao", "measure": "card_holders", "value": 1},
        {"county": "sihui", "measure": "active_workers", "value": 2},
        {"county": "sihui", "measure": "card_holders", "value": 1},
    ]
    assert got["cards_by_state"] == [{"state": "active", "value": 2}]
    assert got["cards_issued_by_month"] == [{"month": month, "value": 2}]
    got = await report(credit, "cards", county="sihui")
    assert got["card_coverage"] == [{"value": 50.0}]
    assert got["card_coverage_by_county"] == [{"county": "sihui", "value": 50.0}]
    assert got["cards_by_state"] == [{"state": "active", "value": 1}]
    got = await report(credit, "cards", to="2026-01")
    assert got["cards_issued_by_month"] == []
    assert got["card_coverage"] == [{"value": 66.7}]  # coverage is today's, whatever the period

    # Credit: levels, lists, complaints.
    listing = {"legal_basis": "《肇庆市家政服务信用管理办法》", "reason": "test"}
    await post(
        credit,
        f"/credit-files/worker/{w2}/list-entries",
        {**listing, "list_kind": "black"},
        officer(),
    )
    await post(
        credit,
        f"/credit-files/worker/{w1}/list-entries",
        {**listing, "list_kind": "red"},
        officer(),
    )
    employer = bearer("employer", uuid.uuid4())
    complaint = {"category": "other", "description": "Late", "target_kind": "worker"}
    await post(credit, "/credit-complaints", {**complaint, "target_id": str(w3)}, employer)
    closed = await post(credit, "/credit-complaints", {**complaint, "target_id": str(w1)}, employer)
    cid = closed["id"]
    await post(credit, f"/credit-complaints/{cid}/assign", {"assignee": "officer-1"}, officer())
    decision = {"outcome": "rejected", "reason": "No evidence"}
    await post(credit, f"/credit-complaints/{cid}/decision", decision, officer())
    got = await report(credit, "credit")
    levels = got["credit_levels_by_party_kind"]
    assert {r["party_kind"] for r in levels} == {"company", "worker"}
    assert sum(r["value"] for r in levels if r["party_kind"] == "worker") == 3
    assert got["list_entries_now"] == [
        {"list_kind": "black", "party_kind": "worker", "value": 1},
        {"list_kind": "red", "party_kind": "worker", "value": 1},
    ]
    assert got["list_entries_by_month"] == [
        {"month": month, "list_kind": "black", "value": 1},
        {"month": month, "list_kind": "red", "value": 1},
    ]
    assert got["complaints_by_month"] == [
        {"month": month, "flow": "opened", "value": 2},
        {"month": month, "flow": "closed", "value": 1},
    ]
    assert got["complaints_open_now"] == [{"status": "filed", "value": 1}]
    got = await report(credit, "credit", county="sihui")
    assert {r["party_kind"] for r in got["credit_levels_by_party_kind"]} == {"worker"}
    assert sum(r["value"] for r in got["credit_levels_by_party_kind"]) == 2
    assert got["list_entries_now"] == [{"list_kind": "black", "party_kind": "worker", "value": 1}]
    assert got["complaints_by_month"] == [{"month": month, "flow": "opened", "value": 1}]
    got = await report(credit, "credit", **{"from": "2099-01"})
    assert got["complaints_by_month"] == [] and got["list_entries_by_month"] == []

    # Insurance: the cards' free cover.
    got = await report(credit, "insurance")
    assert got["policies_by_month"] == [{"month": policy_month, "value": 2}]
    assert got["insured_workers_by_month"] == [{"month": policy_month, "value": 2}]
    assert got["insured_workers_now_by_county"] == [
        {"county": "gaoyao", "value": 1},
        {"county": "sihui", "value": 1},
    ]
    got = await report(credit, "insurance", county="gaoyao")
    assert got["policies_by_month"] == [{"month": policy_month, "value": 1}]
    assert got["insured_workers_now_by_county"] == [{"county": "gaoyao", "value": 1}]
    got = await report(credit, "insurance", to="2026-01")
    assert got["policies_by_month"] == [] and got["insured_workers_by_month"] == []

    # Titles in English; bad filters; officers and admins only.
    english = await credit.client.get(
        "/api/v1/statistics/insurance", headers={**officer(), "Accept-Language": "en"}
    )
    assert english.json()["figures"][0]["title"] == "Insurance policies starting per month"
    assert (
        await credit.client.get("/api/v1/statistics/cards", headers=bearer("admin"))
    ).status_code == 200
    for topic in ("cards", "credit", "insurance"):
        path = f"/api/v1/statistics/{topic}"
        for params, status in (
            ({"county": "hongkong"}, 422),
            ({"to": "2026-00"}, 422),
            ({"from": "2026-02", "to": "2026-01"}, 400),
        ):
            refused = await credit.client.get(path, params=params, headers=officer())
            assert (refused.status_code, refused.headers["content-type"]) == (status, PROBLEM)
        assert (await credit.client.get(path)).status_code == 401
        for role in ("worker", "company", "employer", "institution"):
            refused = await credit.client.get(path, headers=bearer(role, uuid.uuid4()))
            assert (refused.status_code, refused.headers["content-type"]) == (403, PROBLEM)
