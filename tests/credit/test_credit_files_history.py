"""Credit files, the parts issue 7 names beyond the main lifecycle: an institution's file,
officer corrections that supersede (nothing is deleted), officer list entries need a legal
basis, complaint deadlines and rejections, rejected repairs, publication periods that end by
themselves in the running app, and engagements that count only without an upheld complaint."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update

from contracts.matching import EngagementFinished
from contracts.registry import EmployerRegistered, InstitutionRegistered
from services.credit.files import lists
from services.credit.files.models import CreditComplaint, CreditListEntry, CreditRecord
from services.credit.files.sweeper import sweeping
from services.kit.types import utcnow
from tests.credit.credit_support import PROBLEM, Credit, officer
from tests.credit.test_credit_files import assert_explained, file_where, post
from tests.support.apps import context, eventually
from tests.support.tokens import bearer


async def records_of(credit: Credit, kind: str, party: uuid.UUID) -> dict[str, dict[str, Any]]:
    response = await credit.client.get(
        f"/api/v1/credit-files/{kind}/{party}/records?limit=50", headers=officer()
    )
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["items"]}


async def test_institution_file_corrections_complaints_and_rejected_repairs(
    credit: Credit,
) -> None:
    client = credit.client
    institution = uuid.uuid4()
    await credit.peer.publish(
        InstitutionRegistered(
            institution_id=str(institution),
            name="肇庆市家政职业培训学校",
            credit_code="52441200MJL123456X",
            county="duanzhou",
            level="municipal_demonstration",
            tracks=["housekeeping"],
            registered_at=datetime.now(UTC),
        )
    )
    await file_where(credit, "institution", institution, score=70, level="B")
    listed = await client.get("/api/v1/credit-files?party_kind=institution", headers=officer())
    assert [f["party_id"] for f in listed.json()["items"]] == [str(institution)]
    mine = bearer("institution", institution)
    assert (
        await client.get(f"/api/v1/credit-files/institution/{institution}", headers=mine)
    ).status_code == 200

    # An officer records training fraud (−40 × 3): level D, blacklisted automatically.
    base = f"/credit-files/institution/{institution}"
    fraud = await post(
        credit,
        f"{base}/records",
        {"kind": "training_fraud", "severity": 3, "reason": "Attendance sheets forged"},
        officer(),
    )
    assert fraud["source"] == "officer" and fraud["source_ref"].startswith("officer:")
    file = await file_where(credit, "institution", institution, score=-50, level="D")
    assert [e["list_kind"] for e in file["lists"]] == ["black"]

    # The finding is corrected: a new record supersedes it; the old one stays, marked.
    correction = await post(
        credit,
        f"{base}/records",
        {
            "kind": "officer_sanction",
            "severity": 1,
            "reason": "Review: late attendance report, no forgery",
            "supersedes_id": fraud["id"],
        },
        officer(),
    )
    file = await file_where(credit, "institution", institution, score=60, level="C")
    assert_explained(file)
    [line] = file["explanation"]
    assert line["record_id"] == correction["id"]
    # The line shows its arithmetic under the version that computed it: weight × factor.
    assert (line["severity"], line["weight"], line["factor"], line["points"]) == (1, -10, 1, -10)
    assert file["lists"] == []  # leaving D ended the automatic black entry
    again = await client.post(
        f"/api/v1{base}/records",
        json={"kind": "officer_sanction", "reason": "x", "supersedes_id": fraud["id"]},
        headers=officer(),
    )
    assert again.status_code == 409 and again.json()["type"].endswith("record-superseded")
    records = await records_of(credit, "institution", institution)
    assert records[fraud["id"]]["superseded_by_id"] == correction["id"]
    assert records[correction["id"]]["supersedes_id"] == fraud["id"]
    # Records are never deleted: the API has no way to.
    deleted = await client.delete(f"/api/v1{base}/records", headers=officer())
    assert deleted.status_code == 405 and deleted.headers["content-type"] == PROBLEM

    # An officer's list entry needs a legal basis.
    for body in (
        {"list_kind": "black", "reason": "Repeated forgery"},
        {"list_kind": "black", "reason": "Repeated forgery", "legal_basis": ""},
    ):
        refused = await client.post(f"/api/v1{base}/list-entries", json=body, headers=officer())
        assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM

    # A worker's complaint against the institution: overdue past its deadline, then rejected.
    worker = uuid.uuid4()
    complaint = await post(
        credit,
        "/credit-complaints",
        {
            "target_kind": "institution",
            "target_id": str(institution),
            "category": "fraud",
            "description": "Charged for hours not taught",
        },
        bearer("worker", worker),
    )
    assert complaint["complainant_role"] == "worker" and not complaint["overdue"]
    async with context(credit.app).db.write() as session:
        await session.execute(
            update(CreditComplaint)
            .where(CreditComplaint.id == uuid.UUID(complaint["id"]))
            .values(due_at=utcnow() - timedelta(days=1))
        )
    cid = complaint["id"]
    late = await client.get(f"/api/v1/credit-complaints/{cid}", headers=mine)
    assert late.status_code == 200 and late.json()["overdue"] is True
    await post(credit, f"/credit-complaints/{cid}/assign", {"assignee": "officer-3"}, officer())
    rejected = await post(
        credit,
        f"/credit-complaints/{cid}/decision",
        {"outcome": "rejected", "reason": "Attendance records match the invoices"},
        officer(),
    )
    assert (rejected["status"], rejected["resulting_record_id"], rejected["overdue"]) == (
        "rejected",
        None,
        False,
    )
    assert [s["step"] for s in rejected["history"]] == ["filed", "assigned", "decided"]
    await file_where(credit, "institution", institution, score=60, level="C")

    # A repair applied for after the minimum period is rejected with reasons: nothing changes.
    old = await post(
        credit,
        f"{base}/records",
        {
            "kind": "officer_sanction",
            "severity": 1,
            "reason": "Unlicensed course",
            "effective_from": (datetime.now(UTC) - timedelta(days=40)).isoformat(),
        },
        officer(),
    )
    await file_where(credit, "institution", institution, score=50, level="D")
    repair = await post(
        credit, "/credit-repairs", {"record_id": old["id"], "proof": "Licence applied for"}, mine
    )
    decided = await post(
        credit,
        f"/credit-repairs/{repair['id']}/decision",
        {"approve": False, "reason": "An application is not a licence"},
        officer(),
    )
    assert (decided["status"], decided["decision_reason"]) == (
        "rejected",
        "An application is not a licence",
    )
    await file_where(credit, "institution", institution, score=50, level="D")
    records = await records_of(credit, "institution", institution)
    assert records[old["id"]]["repaired_at"] is None
    # Rejected is decided: a new application with better proof may follow.
    await post(credit, "/credit-repairs", {"record_id": old["id"], "proof": "Licence L-1"}, mine)


async def test_publication_periods_end_by_themselves_in_the_running_app(credit: Credit) -> None:
    client = credit.client
    worker = await credit.known_worker("何丽娟")
    await file_where(credit, "worker", worker, score=70, level="B")
    base = f"/credit-files/worker/{worker}"
    entry = await post(
        credit,
        f"{base}/list-entries",
        {
            "list_kind": "black",
            "legal_basis": "《家政服务业信用体系建设指导意见》",
            "reason": "Subsidy fraud confirmed",
        },
        officer(),
    )
    assert entry["basis"] == "officer"
    public = (await client.get("/api/v1/blacklist")).json()["items"]
    assert [p["public_code"] for p in public] == [entry["public_code"]]
    sanction = await post(
        credit,
        f"{base}/records",
        {"kind": "officer_sanction", "severity": 1, "reason": "Late health check"},
        officer(),
    )
    await file_where(credit, "worker", worker, score=60, level="C")

    # Both periods are over (as if the days had passed) ...
    now = utcnow()
    async with context(credit.app).db.write() as session:
        await session.execute(
            update(CreditListEntry)
            .where(CreditListEntry.id == uuid.UUID(entry["id"]))
            .values(publish_until=now)
        )
        await session.execute(
            update(CreditRecord)
            .where(CreditRecord.id == uuid.UUID(sanction["id"]))
            .values(publish_until=now)
        )

    # ... and the app's sweep task, with nobody calling it, ends the listing and the record's
    # weight.
    async def unlisted() -> bool:
        items = (await client.get("/api/v1/blacklist")).json()["items"]
        return items == []

    async with sweeping(context(credit.app), interval=0.05):
        await eventually(unlisted)
        file = await file_where(credit, "worker", worker, score=70, level="B")
    assert file["lists"] == [] and file["explanation"] == []
    async with context(credit.app).db.read() as session:
        assert not await lists.is_blacklisted(session, worker)
    records = await records_of(credit, "worker", worker)
    assert list(records) == [sanction["id"]]  # still in the file, no longer weighing
    await eventually(credit.all_published)
    removed = [
        (e.data["entry_id"], e.data["end_reason"])
        for e in await credit.peer.read("CREDIT", "credit.list_entry.removed")
        if e.data["party_id"] == str(worker)
    ]
    assert removed == [(entry["id"], "period_ended")]


async def test_only_engagements_without_an_upheld_complaint_count(credit: Credit) -> None:
    worker = await credit.known_worker("邓月华")
    employers = [uuid.uuid4(), uuid.uuid4()]
    for employer in employers:
        await credit.peer.publish(
            EmployerRegistered(
                employer_id=str(employer),
                name="周先生",
                city="zhaoqing",
                district=None,
                registered_at=datetime.now(UTC),
            )
        )
        await credit.peer.publish(
            EngagementFinished(
                engagement_id=str(uuid.uuid4()),
                job_id=str(uuid.uuid4()),
                worker_id=str(worker),
                employer_id=str(employer),
                company_id=None,
                poster_account_id="acct-1",
                track="housekeeping",
                start_date=date(2026, 3, 1),
                end_date=date(2026, 6, 1),
                finished_at=datetime.now(UTC),
            )
        )
    await file_where(credit, "worker", worker, score=72)
    complaint = await post(
        credit,
        "/credit-complaints",
        {
            "target_kind": "worker",
            "target_id": str(worker),
            "category": "service_quality",
            "description": "Broke the washing machine and hid it",
        },
        bearer("employer", employers[0]),
    )
    cid = complaint["id"]
    await post(credit, f"/credit-complaints/{cid}/assign", {"assignee": "officer-5"}, officer())
    await post(
        credit,
        f"/credit-complaints/{cid}/decision",
        {"outcome": "upheld", "reason": "Confirmed"},
        officer(),
    )
    # 70 + 1 (the other employer's engagement) − 12: the complained-of engagement is withdrawn.
    file = await file_where(credit, "worker", worker, score=59, level="C")
    assert_explained(file)
    assert sorted(line["kind"] for line in file["explanation"]) == [
        "complaint_upheld",
        "engagement_finished",
    ]
    engagements = [
        r
        for r in (await records_of(credit, "worker", worker)).values()
        if r["kind"] == "engagement_finished"
    ]
    assert sorted(r["withdrawn_at"] is not None for r in engagements) == [False, True]
    # The employer's own record of that engagement is theirs: it stays.
    await file_where(credit, "employer", employers[0], score=71)
