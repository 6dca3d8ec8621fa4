"""Issue 7's scenario across processes, all through the gateway over HTTP: registry, training,
credit and matching each in their own process, events over the platform's nats-server.

A card-holding worker is matched to an employer's job. A partner reads the worker's credit only
while the worker's consent is valid, and the worker sees that read in their access log. An
upheld complaint lowers the credit level and matching's score for the job falls with it (the
``credit_level`` reason). An officer's black-list entry on that record drops the worker from
the job's matches and turns the home-service card red. The repair, refused before the policy's
minimum period, is allowed once a new policy version shortens the period; its approval ends the
black-list entry: the card is green again, and the worker is back in the matches at the
recovered level and score. An officer's red-list entry then gives the credit file the
guarantee mark, and matching ranks the worker first with it (the ``red_list`` reason).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devtools.run import Platform
from services.credit.numbers import local_date
from services.kit.auth import SigningKeys, TokenIssuer
from services.kit.idnumbers import make_id_card
from services.kit.settings import PlatformSettings
from tests.e2e.test_chain import token_headers
from tests.registry.test_parties_support import company_body, new_phone, partner_body

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def partner_headers(platform: Platform, partner_id: uuid.UUID, scopes: list[str]) -> dict[str, str]:
    settings = PlatformSettings()
    keys = SigningKeys.load(platform.config.var_dir / "secrets" / "jwt_keys.json")
    token, _ = TokenIssuer(
        keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=600
    ).issue(subject=str(uuid.uuid4()), role="partner", party_id=partner_id, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def poll(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Until ``probe`` answers; slow enough to stay under the gateway's rate limit."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.15)
    raise AssertionError(f"not reached within {timeout}s: {last!r}")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_credit_scenario_across_services(platform: Platform) -> None:
    today = local_date(datetime.now(UTC))
    officer = token_headers(platform, "officer")
    with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as api:
        # A verified, active worker of a company, with valid checks; training completes and
        # credit issues the certificate and the home-service card on its own.
        company = ok(api.post("/api/v1/companies", json=company_body()), 201)
        seq = f"{uuid.uuid4().int % 900 + 100}"
        worker_id = ok(
            api.post(
                "/api/v1/workers",
                json={
                    "name": "林秀珍",
                    "id_card_number": make_id_card("441283", datetime(1982, 3, 9).date(), seq),
                    "phone": new_phone(),
                    "county": "gaoyao",
                    "tracks": ["maternal_infant"],
                    "health_check": {
                        "date": (today - timedelta(days=10)).isoformat(),
                        "institution": "肇庆市第一人民医院",
                        "valid_until": (today + timedelta(days=355)).isoformat(),
                    },
                    "no_criminal_record": {
                        "date": (today - timedelta(days=10)).isoformat(),
                        "result": "clear",
                        "valid_until": (today + timedelta(days=355)).isoformat(),
                    },
                    "employment": {"company_id": company["id"]},
                },
            ),
            201,
        )["id"]
        me = token_headers(platform, "worker", worker_id)
        ok(api.post(f"/api/v1/workers/{worker_id}/verify"))
        ok(api.post(f"/api/v1/workers/{worker_id}/status", json={"to": "active", "reason": "上岗"}))
        course = ok(
            api.post(
                "/api/v1/courses",
                json={
                    "title": "母婴护理（初级）",
                    "track": "maternal_infant",
                    "training_type": "pre_job",
                    "hours": 40,
                },
            ),
            201,
        )

        def enrol() -> Any:
            response = api.post(
                "/api/v1/enrollments", json={"course_id": course["id"], "worker_id": worker_id}
            )
            if response.status_code == 422 and "unknown-worker" in response.json()["type"]:
                return None  # the registration event has not reached training yet
            return ok(response, 201)

        enrollment = poll(enrol)["id"]
        ok(
            api.post(
                f"/api/v1/enrollments/{enrollment}/result",
                json={"score": 90, "hours_attended": 40},
            )
        )
        ok(api.post(f"/api/v1/enrollments/{enrollment}/complete"))

        def card(colour: str) -> Any:
            response = api.get(f"/api/v1/workers/{worker_id}/credit/card")
            found = response.json() if response.status_code == 200 else None
            return found if found and found["colour"] == colour else None

        assert poll(lambda: card("green"))["state"] == "active"

        def credit_file(**expected: Any) -> Any:
            response = api.get(f"/api/v1/credit-files/worker/{worker_id}")
            found = response.json() if response.status_code == 200 else None
            if found and all(found[k] == v for k, v in expected.items()):
                assert (
                    found["base_score"] + sum(line["points"] for line in found["explanation"])
                    == found["score"]
                )
                return found
            return None

        # Base 70 plus the certificate's 4 under policy version 1.
        start = poll(lambda: credit_file(level="B", score=74))

        # An employer's job; matching ranks the worker with a credit_level reason.
        employer_id = str(uuid.uuid4())
        employer = token_headers(platform, "employer", employer_id)
        job_id = ok(
            api.post(
                "/api/v1/jobs",
                json={
                    "title": "月嫂 高要区",
                    "track": "maternal_infant",
                    "city": "zhaoqing",
                    "schedule": "live-in, 26 days",
                    "pay_min": 7000,
                    "pay_max": 9000,
                    "start_date": today.isoformat(),
                },
                headers=employer,
            ),
            201,
        )["id"]

        def match() -> dict[str, Any] | None:
            result = ok(api.get(f"/api/v1/jobs/{job_id}/matches", headers=employer))
            mine = [i for i in result["items"] if i["worker_id"] == worker_id]
            return mine[0] if mine else None

        def matched_at(level: str) -> Any:
            seen: list[Any] = [None]

            def probe() -> Any:
                seen[0] = found = match()
                if found is None:
                    return None
                [reason] = [r for r in found["reasons"] if r["factor"] == "credit_level"]
                wanted = reason["detail"] == f"credit level {level}"
                return (found, reason["points"]) if wanted else None

            try:
                found, points = poll(probe)
            except AssertionError as exc:
                raise AssertionError(f"not matched at level {level}; last seen {seen[0]}") from exc
            assert found["score"] == sum(r["points"] for r in found["reasons"])
            return found["score"], points

        score_b, points_b = matched_at("B")

        # --- consent-gated reads, and who looked ------------------------------------------
        partner = uuid.UUID(ok(api.post("/api/v1/partners", json=partner_body()), 201)["id"])
        reader = partner_headers(platform, partner, ["credit:read"])
        denied = api.get(f"/api/v1/workers/{worker_id}/credit", headers=reader)
        assert denied.status_code == 403 and denied.headers["content-type"].startswith(PROBLEM)
        consent = ok(
            api.post(
                f"/api/v1/workers/{worker_id}/consents",
                json={
                    "scope": "credit_data",
                    "recipient": str(partner),
                    "expires_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
                },
                headers=me,
            ),
            201,
        )

        def read_with_consent() -> Any:
            response = api.get(f"/api/v1/workers/{worker_id}/credit", headers=reader)
            if response.status_code == 403:
                return None  # the consent event has not reached credit yet
            return ok(response)

        assert poll(read_with_consent)["level"] == "B"
        log = ok(api.get(f"/api/v1/workers/{worker_id}/credit/access-log", headers=me))["items"]
        [entry] = [e for e in log if e["resource"] == "credit"]
        assert (entry["reader_party_id"], entry["reader_role"]) == (str(partner), "partner")
        ok(api.post(f"/api/v1/workers/{worker_id}/consents/{consent['id']}/withdraw", headers=me))
        poll(
            lambda: (
                api.get(f"/api/v1/workers/{worker_id}/credit", headers=reader).status_code == 403
            )
        )

        # --- an upheld complaint lowers the level; matching's score falls -----------------
        complaint = ok(
            api.post(
                "/api/v1/credit-complaints",
                json={
                    "target_kind": "worker",
                    "target_id": worker_id,
                    "category": "service_quality",
                    "description": "Left the baby unattended",
                },
                headers=employer,
            ),
            201,
        )
        cases = f"/api/v1/credit-complaints/{complaint['id']}"
        ok(api.post(f"{cases}/assign", json={"assignee": "officer-7"}))
        decided = ok(
            api.post(
                f"{cases}/decision",
                json={
                    "outcome": "upheld",
                    "reason": "Confirmed by the family and the company",
                    "occurred_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
                },
            )
        )
        assert decided["status"] == "upheld"
        record_id = decided["resulting_record_id"]
        lowered = poll(lambda: credit_file(level="C", score=62))  # 74 − 12
        assert lowered["lists"] == []  # C is not blacklisted automatically
        score_c, points_c = matched_at("C")
        assert points_c < points_b and score_c == score_b - (points_b - points_c)

        # --- an officer's black-list entry on that record: out of the matches, card red ----
        listed = ok(
            api.post(
                f"/api/v1/credit-files/worker/{worker_id}/list-entries",
                json={
                    "list_kind": "black",
                    "legal_basis": "《家政服务业信用体系建设指导意见》",
                    "reason": "Serious misconduct towards an infant",
                    "record_id": record_id,
                },
            ),
            201,
        )
        assert listed["list_kind"] == "black"
        poll(lambda: match() is None)
        assert poll(lambda: card("red"))["state"] == "suspended"
        eligibility = ok(api.get(f"/api/v1/workers/{worker_id}/credit/card-eligibility"))
        assert eligibility["eligible"] is False
        conditions = {c["name"]: c["met"] for c in eligibility["conditions"]}
        assert conditions["not_blacklisted"] is False
        assert [name for name, met in conditions.items() if not met] == ["not_blacklisted"]
        public = httpx.get(f"{platform.gateway_url}/api/v1/blacklist", timeout=10).json()
        assert listed["public_code"] in [p["public_code"] for p in public["items"]]

        # --- repair: too early under version 1; a new version shortens the period; approval
        # ends the black-list entry resting on the record: card green, back in the matches
        # at level B
        early = api.post(
            "/api/v1/credit-repairs",
            json={"record_id": record_id, "proof": "Retrained"},
            headers=me,
        )
        assert early.status_code == 409 and early.json()["type"].endswith("repair-too-early")
        current = ok(api.get("/api/v1/credit-policies"))[0]
        rules = {**current["rules"], "repair_min_days": [1, 90, 365]}
        published = ok(
            api.post(
                "/api/v1/credit-policies",
                json={"rules": rules, "reason": "Minor complaints repairable after a day"},
            ),
            201,
        )
        version = published["version"]
        assert version > current["version"]
        repair = ok(
            api.post(
                "/api/v1/credit-repairs",
                json={"record_id": record_id, "proof": "Retrained; family's letter attached"},
                headers=me,
            ),
            201,
        )
        assert repair["policy_version"] == version
        approved = ok(
            api.post(
                f"/api/v1/credit-repairs/{repair['id']}/decision",
                json={"approve": True, "reason": "Correction proven"},
            )
        )
        assert approved["status"] == "approved"
        recovered = poll(lambda: credit_file(level="B", score=start["score"]))
        assert recovered["policy_version"] == version
        assert matched_at("B") == (score_b, points_b)
        assert poll(lambda: card("green"))["state"] == "active"
        public = httpx.get(f"{platform.gateway_url}/api/v1/blacklist", timeout=10).json()
        assert listed["public_code"] not in [p["public_code"] for p in public["items"]]
        assert match()["guarantee_mark"] is False  # type: ignore[index]

        # --- the red list (诚信红名单): an officer's entry with its legal basis; the credit
        # file carries the guarantee mark, and matching ranks the worker first with it
        red = ok(
            api.post(
                f"/api/v1/credit-files/worker/{worker_id}/list-entries",
                json={
                    "list_kind": "red",
                    "legal_basis": "《肇庆市家政服务诚信品牌创建计划》",
                    "reason": "Selected as a model worker",
                },
            ),
            201,
        )
        assert poll(lambda: credit_file(guarantee_mark=True))["lists"][0]["id"] == red["id"]

        def guaranteed() -> Any:
            found = ok(api.get(f"/api/v1/jobs/{job_id}/matches", headers=employer))["items"]
            return found if found and found[0]["guarantee_mark"] else None

        [first, *_] = poll(guaranteed)
        assert first["worker_id"] == worker_id
        factors = {r["factor"]: r["points"] for r in first["reasons"]}
        assert first["score"] == score_b + factors["red_list"]
        public = httpx.get(f"{platform.gateway_url}/api/v1/redlist", timeout=10).json()
        assert red["public_code"] in [p["public_code"] for p in public["items"]]
