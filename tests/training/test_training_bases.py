"""Training bases: a versioned benefit policy, residents' benefit periods, and the report of
benefits running and expiring."""

from __future__ import annotations

import uuid

from tests.training.test_training_programme import problem
from tests.training.training_support import Training

BASE = "/api/v1/training-bases"


async def test_residents_get_policy_benefits_and_the_report_shows_expiry(
    training: Training,
) -> None:
    staff = training.institution()
    base = {
        "name": "肇庆市家政服务示范培训基地",
        "level": "provincial_demonstration",
        "county": "duanzhou",
        "address": "端州区星湖大道 1 号",
        "capacity": 300,
    }
    assert (await training.post(BASE, base, as_=staff)).status_code == 403
    created = await training.post(BASE, base)
    assert created.status_code == 201, created.text
    base_id = created.json()["id"]
    await training.post(BASE, {**base, "name": "高要区基地", "level": "municipal_demonstration"})
    public = (await training.client.get(BASE, params={"level": "provincial_demonstration"})).json()
    assert [b["id"] for b in public["items"]] == [base_id]
    assert (await training.client.get(f"{BASE}/{base_id}")).json()["capacity"] == 300

    company = uuid.uuid4()
    resident = {
        "company_id": str(company),
        "project": "母婴护理实训室",
        "moved_in_on": "2026-01-31",
    }
    path = f"{BASE}/{base_id}/residents"
    problem(await training.post(path, resident), 409, "no-base-policy")
    policy = {
        "rent_free_months": 24,
        "free_property_management_months": 12,
        "provincial_target": 2,
        "municipal_target": 6,
    }
    assert (await training.post(f"{BASE}/policy", policy, as_=staff)).status_code == 403
    assert (await training.post(f"{BASE}/policy", policy)).json()["version"] == 1
    admitted = await training.post(path, resident)
    assert admitted.status_code == 201, admitted.text
    assert (
        admitted.json()["rent_free_until"],
        admitted.json()["property_management_free_until"],
        admitted.json()["policy_version"],
    ) == ("2028-01-30", "2027-01-30", 1)

    # A new policy applies to residents admitted after it, not to earlier ones.
    shorter = {**policy, "rent_free_months": 12}
    assert (await training.post(f"{BASE}/policy", shorter)).json()["version"] == 2
    later = {**resident, "project": "养老护理实训室", "moved_in_on": "2026-06-01"}
    second = (await training.post(path, later)).json()
    assert (second["rent_free_until"], second["policy_version"]) == ("2027-05-31", 2)
    assert [r["project"] for r in (await training.get(path)).json()] == [
        "母婴护理实训室",
        "养老护理实训室",
    ]

    report = await training.get(f"{BASE}/report", params={"as_of": "2026-12-01", "within_days": 90})
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["policy_version"] == 2
    assert {(lv["level"], lv["bases"], lv["target"]) for lv in body["levels"]} == {
        ("provincial_demonstration", 1, 2),
        ("municipal_demonstration", 1, 6),
        ("poverty_alleviation", 0, None),
    }
    lines = {line["resident"]["project"]: line for line in body["residents"]}
    first = lines["母婴护理实训室"]
    assert (first["rent_free_active"], first["property_management_free_active"]) == (True, True)
    assert first["expiring"] == ["property_management_free"]  # ends 2027-01-30
    assert lines["养老护理实训室"]["expiring"] == []
    assert (await training.get(f"{BASE}/report", as_=staff)).status_code == 403
    assert (await training.client.get(f"{BASE}/report")).status_code == 401
