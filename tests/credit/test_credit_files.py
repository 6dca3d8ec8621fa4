"""Credit files end to end in the credit service (real database, real NATS): files opened from
registry events, records from certificates and ratings, consent-gated reads in the worker's
access log, a complaint that blacklists, a repair that restores, a dispute that withdraws a
record, a policy version that red-lists, and the publication period that ends a listing."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.rating import WorkerRatingChanged
from contracts.registry import CompanyRegistered, EmployerRegistered
from services.credit.files import lists
from services.credit.files.policy import DEFAULT_RULES
from services.credit.files.service import sweep
from tests.credit.credit_support import PROBLEM, Credit, officer
from tests.support.apps import context, eventually
from tests.support.tokens import bearer


async def summary(credit: Credit, kind: str, party_id: uuid.UUID) -> dict[str, Any] | None:
    response = await credit.client.get(f"/api/v1/credit-files/{kind}/{party_id}", headers=officer())
    return response.json() if response.status_code == 200 else None


async def file_where(
    credit: Credit, kind: str, party_id: uuid.UUID, **expected: Any
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await summary(credit, kind, party_id)
        if found and all(found[k] == v for k, v in expected.items()):
            return found
        return None

    return await eventually(probe)


def assert_explained(file: dict[str, Any]) -> None:
    """The explanation sums exactly to the score."""
    assert file["base_score"] + sum(line["points"] for line in file["explanation"]) == file["score"]


async def post(credit: Credit, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await credit.client.post(f"/api/v1{path}", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_credit_file_lifecycle(credit: Credit) -> None:
    client = credit.client
    worker = await credit.known_worker("陈秀英")
    me = bearer("worker", worker)
    opened = await file_where(credit, "worker", worker, score=70, level="B", name="陈秀英")
    assert opened["policy_version"] == 1 and opened["explanation"] == []

    # A certificate becomes a positive record; a 5-star rating another.
    await credit.issue(worker)
    await file_where(credit, "worker", worker, score=74)
    rated = datetime.now(UTC)
    rating = WorkerRatingChanged(
        worker_id=str(worker), year=2026, stars=5, previous_stars=None, score=93, changed_at=rated
    )
    await credit.peer.publish(rating)
    file = await file_where(credit, "worker", worker, score=79)
    assert_explained(file)
    assert {line["kind"] for line in file["explanation"]} == {"certificate", "stars_high"}

    # Companies and employers have files too; a company's honours are records.
    company, employer = uuid.uuid4(), uuid.uuid4()
    await credit.peer.publish(
        CompanyRegistered(
            company_id=str(company),
            name="肇庆家政服务有限公司",
            credit_code="91441200MA4UJ1234X",
            county="duanzhou",
            kind="employee_based",
            honours=["千户百强"],
            registered_at=datetime.now(UTC),
        )
    )
    await credit.peer.publish(
        EmployerRegistered(
            employer_id=str(employer),
            name="李先生",
            city="guangzhou",
            district=None,
            registered_at=datetime.now(UTC),
        )
    )
    await file_where(credit, "company", company, score=76)
    await file_where(credit, "employer", employer, score=70)

    # Reads with consent only, and the worker sees who read.
    partner = uuid.uuid4()
    reader = bearer("partner", partner, scopes=["credit:read"])
    denied = await client.get(f"/api/v1/workers/{worker}/credit", headers=reader)
    assert denied.status_code == 403 and denied.headers["content-type"] == PROBLEM
    consent_id = uuid.uuid4()
    await credit.consent(worker, partner, consent_id=consent_id)
    read = await client.get(f"/api/v1/workers/{worker}/credit", headers=reader)
    assert read.status_code == 200 and read.json()["level"] == "B"
    log = await client.get(f"/api/v1/workers/{worker}/credit/access-log", headers=me)
    [entry] = [e for e in log.json()["items"] if e["resource"] == "credit"]
    assert entry["reader_party_id"] == str(partner) and entry["reader_role"] == "partner"
    await credit.consent(worker, partner, consent_id=consent_id, granted=False)
    after = await client.get(f"/api/v1/workers/{worker}/credit", headers=reader)
    assert after.status_code == 403
    other = await client.get(f"/api/v1/credit-files/worker/{worker}", headers=reader)
    assert other.status_code == 403  # a partner never reads whole files

    # The employer complains; an officer assigns, evidence is added, the complaint is upheld.
    as_employer = bearer("employer", employer)
    complaint = await post(
        credit,
        "/credit-complaints",
        {
            "target_kind": "worker",
            "target_id": str(worker),
            "category": "contract_breach",
            "description": "Left without notice",
        },
        as_employer,
    )
    assert complaint["status"] == "filed" and not complaint["overdue"]
    undecided = await client.post(
        f"/api/v1/credit-complaints/{complaint['id']}/decision",
        json={"outcome": "upheld", "reason": "x"},
        headers=officer(),
    )
    assert undecided.status_code == 409  # not assigned yet
    cid = complaint["id"]
    await post(credit, f"/credit-complaints/{cid}/assign", {"assignee": "officer-1"}, officer())
    digest = hashlib.sha256(b"chat log").hexdigest()
    evidence = {
        "note": "Chat log",
        "attachment": {
            "name": "chat.png",
            "media_type": "image/png",
            "sha256": digest,
            "url": "https://files.example/chat.png",
        },
    }
    await post(credit, f"/credit-complaints/{cid}/evidence", evidence, as_employer)
    decided = await post(
        credit,
        f"/credit-complaints/{cid}/decision",
        {
            "outcome": "upheld",
            "reason": "Contract broken without notice",
            "record_kind": "contract_broken",
            "severity": 2,
            "occurred_at": (datetime.now(UTC) - timedelta(days=120)).isoformat(),
        },
        officer(),
    )
    assert [s["step"] for s in decided["history"]] == ["filed", "assigned", "evidence", "decided"]
    assert decided["status"] == "upheld" and decided["resulting_record_id"]
    # 79 - 15 × 2 = 49: level D, blacklisted automatically.
    file = await file_where(credit, "worker", worker, score=49, level="D")
    assert_explained(file)
    [black] = file["lists"]
    assert black["list_kind"] == "black" and black["basis"] == "automatic"
    public = (await client.get("/api/v1/blacklist")).json()["items"]
    assert [(p["public_code"], p["name"]) for p in public] == [(black["public_code"], "陈**")]
    async with context(credit.app).db.read() as session:
        assert await lists.is_blacklisted(session, worker)
    # The worker sees the complaint about them; another worker does not.
    mine = await client.get(f"/api/v1/credit-complaints/{cid}", headers=me)
    assert mine.status_code == 200
    stranger = await client.get(
        f"/api/v1/credit-complaints/{cid}", headers=bearer("worker", uuid.uuid4())
    )
    assert stranger.status_code == 404

    # Repair: the worker applies with proof after the minimum period; approval restores.
    record_id = decided["resulting_record_id"]
    repair = await post(
        credit, "/credit-repairs", {"record_id": record_id, "proof": "Paid damages"}, me
    )
    again = await client.post(
        "/api/v1/credit-repairs", json={"record_id": record_id, "proof": "again"}, headers=me
    )
    assert again.status_code == 409
    approved = await post(
        credit,
        f"/credit-repairs/{repair['id']}/decision",
        {"approve": True, "reason": "Correction proven"},
        officer(),
    )
    assert approved["status"] == "approved"
    file = await file_where(credit, "worker", worker, score=79, level="B")
    assert file["lists"] == []
    assert (await client.get("/api/v1/blacklist")).json()["items"] == []

    # A fresh sanction cannot be repaired yet; the worker disputes it and the dispute is upheld.
    sanction = await post(
        credit,
        f"/credit-files/worker/{worker}/records",
        {"kind": "officer_sanction", "severity": 1, "reason": "Late health check"},
        officer(),
    )
    await file_where(credit, "worker", worker, score=69, level="C")
    early = await client.post(
        "/api/v1/credit-repairs", json={"record_id": sanction["id"], "proof": "done"}, headers=me
    )
    assert early.status_code == 409 and early.json()["type"].endswith("repair-too-early")
    dispute = await post(
        credit,
        "/credit-complaints",
        {
            "target_kind": "worker",
            "target_id": str(worker),
            "description": "The check was on time",
            "record_id": sanction["id"],
        },
        me,
    )
    assert dispute["category"] == "record_dispute"
    did = dispute["id"]
    await post(credit, f"/credit-complaints/{did}/assign", {"assignee": "officer-2"}, officer())
    await post(
        credit,
        f"/credit-complaints/{did}/decision",
        {"outcome": "upheld", "reason": "ok"},
        officer(),
    )
    await file_where(credit, "worker", worker, score=79, level="B")
    records = (
        await client.get(f"/api/v1/credit-files/worker/{worker}/records", headers=me)
    ).json()["items"]
    assert len(records) == 4  # never deleted: repaired and withdrawn ones stay
    assert {r["id"]: r["withdrawn_at"] is not None for r in records}[sanction["id"]]

    # A new policy version: weights are data, files are recomputed and say which version.
    rules = {**DEFAULT_RULES, "base_score": 80}
    refused = await client.post(
        "/api/v1/credit-policies", json={"rules": rules, "reason": "r"}, headers=me
    )
    assert refused.status_code == 403
    bad = await client.post(
        "/api/v1/credit-policies",
        json={
            "rules": {**rules, "weights": {**rules["weights"], "training_fraud": 5}},
            "reason": "r",
        },
        headers=officer(),
    )
    assert bad.status_code == 422
    created = await post(
        credit, "/credit-policies", {"rules": rules, "reason": "Reward trust more"}, officer()
    )
    assert created["version"] == 2 and created["recomputed"] == 3
    file = await file_where(credit, "worker", worker, score=89, level="A", policy_version=2)
    await file_where(credit, "company", company, score=86, level="A")  # red-listed too
    assert_explained(file)
    [red] = file["lists"]
    assert red["list_kind"] == "red" and file["guarantee_mark"] is True
    versions = (await client.get("/api/v1/credit-policies", headers=me)).json()
    assert [v["version"] for v in versions] == [2, 1]

    # The publication period ends the listing automatically.
    async with context(credit.app).db.write() as session:
        ended, _ = await sweep(session, datetime.now(UTC) + timedelta(days=366))
    assert ended == 2  # the worker's and the company's red entries
    assert (await client.get("/api/v1/redlist")).json()["items"] == []

    # What consumers got: the level changes and the list entries, with the policy version.
    await eventually(credit.all_published)
    levels = [
        (e.data["previous_level"], e.data["level"], e.data["policy_version"])
        for e in await credit.peer.read("CREDIT", "credit.level.changed")
        if e.data["party_id"] == str(worker)
    ]
    assert levels == [
        (None, "B", 1),
        ("B", "D", 1),
        ("D", "B", 1),
        ("B", "C", 1),
        ("C", "B", 1),
        ("B", "A", 2),
    ]
    removed = await credit.peer.read("CREDIT", "credit.list_entry.removed")
    assert [
        (e.data["list_kind"], e.data["end_reason"])
        for e in removed
        if e.data["party_id"] == str(worker)
    ] == [
        ("black", "repaired"),
        ("red", "period_ended"),
    ]
