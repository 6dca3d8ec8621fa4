"""Entrepreneurship support: a founder's project, guidance, referral (项目推介) to an incubator
or a training base, financing matchmaking, the start-up subsidy under a versioned policy
(reviewed, paid once), and 众创杯 entries — all on the founder's skills record."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from tests.support.tokens import bearer
from tests.training.test_training_programme import problem
from tests.training.training_support import Training

BASE = "/api/v1/ventures"


async def test_founder_project_from_idea_to_paid_subsidy_and_contest(training: Training) -> None:
    founder = await training.known_worker("创业者")
    me, stranger = bearer("worker", founder), bearer("worker", uuid.uuid4())
    project = {"name": "星湖月嫂工作室", "idea": "社区上门月嫂与产后护理", "county": "duanzhou"}
    created = await training.post(BASE, project, as_=me)
    assert created.status_code == 201, created.text
    venture = created.json()
    assert (venture["worker_id"], venture["stage"]) == (str(founder), "idea")
    path = f"{BASE}/{venture['id']}"
    someone_else = {**project, "worker_id": str(uuid.uuid4())}
    assert (await training.post(BASE, someone_else, as_=me)).status_code == 403
    assert (await training.get(path, as_=stranger)).status_code == 404

    guidance = {"mentor_name": "李导师", "held_on": "2026-04-02", "notes": "商业计划书修改"}
    assert (await training.post(f"{path}/guidance", guidance, as_=me)).status_code == 403
    assert (await training.post(f"{path}/guidance", guidance)).status_code == 201

    # Referral (项目推介): officers refer, the founder sees it; a base must exist.
    incubator = {"to_kind": "incubator", "to_name": "肇庆高新区创业孵化基地"}
    assert (await training.post(f"{path}/referrals", incubator, as_=me)).status_code == 403
    referral = await training.post(f"{path}/referrals", incubator)
    assert referral.status_code == 201, referral.text
    assert referral.json()["status"] == "referred"
    to_base = {"to_kind": "training_base", "to_name": "端州区家政培训基地"}
    problem(await training.post(f"{path}/referrals", to_base), 422, "no-base")
    to_base["base_id"] = str(uuid.uuid4())
    problem(await training.post(f"{path}/referrals", to_base), 422, "unknown-base")
    answer = f"{path}/referrals/{referral.json()['id']}/status"
    assert (await training.post(answer, {"status": "accepted"}, as_=me)).status_code == 403
    accepted = await training.post(answer, {"status": "accepted", "note": "入驻第三批"})
    assert (accepted.json()["status"], accepted.json()["note"]) == ("accepted", "入驻第三批")
    problem(await training.post(answer, {"status": "declined"}), 409, "referral-answered")
    elsewhere = f"{BASE}/{uuid.uuid4()}/referrals/{referral.json()['id']}/status"
    assert (await training.post(elsewhere, {"status": "declined"})).status_code == 404

    ask = {"lender_kind": "bank", "lender_name": "肇庆农商银行", "amount": 200000}
    request = (await training.post(f"{path}/financing", ask, as_=me)).json()
    move = f"{path}/financing/{request['id']}/status"
    problem(await training.post(move, {"status": "approved"}), 409, "financing-transition")
    assert (await training.post(move, {"status": "matched"}, as_=me)).status_code == 403
    assert (await training.post(move, {"status": "matched"})).json()["status"] == "matched"
    assert (await training.post(move, {"status": "approved"})).json()["status"] == "approved"

    claim = f"{path}/startup-subsidy"
    problem(await training.post(claim, as_=me), 409, "no-venture-policy")
    policy = {"startup_subsidy_amount": 5000, "subsidy_min_stage": "registered"}
    assert (await training.post(f"{BASE}/policy", policy, as_=me)).status_code == 403
    assert (await training.post(f"{BASE}/policy", policy)).json()["version"] == 1
    problem(await training.post(claim, as_=me), 409, "stage-too-early")
    staged = await training.post(f"{path}/stage", {"stage": "registered"}, as_=me)
    assert staged.json()["stage"] == "registered"
    filed = await training.post(claim, as_=me)
    assert filed.status_code == 201, filed.text
    assert (filed.json()["amount"], filed.json()["policy_version"]) == (5000, 1)
    problem(await training.post(claim, as_=me), 409, "already-claimed")
    assert (
        await training.post(f"{claim}/review", {"decision": "approve"}, as_=me)
    ).status_code == 403
    assert (await training.post(f"{claim}/review", {"decision": "approve"})).status_code == 200
    payment = {"payment_reference": "ZQ-CY-2026-7"}
    payments = await asyncio.gather(*(training.post(f"{claim}/pay", payment) for _ in range(5)))
    assert Counter(r.status_code for r in payments) == {200: 1, 409: 4}

    entry = await training.post(f"{path}/contest-entries", {"contest_year": 2026}, as_=me)
    assert entry.status_code == 201, entry.text
    again = await training.post(f"{path}/contest-entries", {"contest_year": 2026}, as_=me)
    problem(again, 409, "already-entered")
    result = {"result": "winner", "award": "一等奖"}
    assert (
        await training.post(f"{path}/contest-entries/2026/result", result, as_=me)
    ).status_code == 403
    judged = await training.post(f"{path}/contest-entries/2026/result", result)
    assert (judged.json()["result"], judged.json()["award"]) == ("winner", "一等奖")

    whole = (await training.get(path, as_=me)).json()
    assert len(whole["guidance"]) == 1
    assert [(r["to_kind"], r["status"]) for r in whole["referrals"]] == [("incubator", "accepted")]
    assert [f["status"] for f in whole["financing"]] == ["approved"]
    assert whole["startup_subsidy"]["status"] == "paid"
    assert [(e["contest_year"], e["result"]) for e in whole["contest_entries"]] == [
        (2026, "winner")
    ]
    mine = (await training.get(BASE, as_=me)).json()["items"]
    assert [v["id"] for v in mine] == [venture["id"]]
    assert (await training.get(BASE, as_=stranger)).json()["items"] == []

    # The founder's lifelong skills record shows the project and its 众创杯 entry and result.
    record = (await training.get(f"/api/v1/skills-records/{founder}", as_=me)).json()["items"]
    assert [(i["kind"], i["title"], i["contest_year"], i["result"]) for i in record] == [
        ("venture_started", "星湖月嫂工作室", None, None),
        ("venture_contest_entered", "星湖月嫂工作室", 2026, None),
        ("venture_contest_judged", "星湖月嫂工作室", 2026, "winner"),
    ]
