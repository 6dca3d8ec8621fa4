"""The first chain across all five services, driven through the gateway over real HTTP.

registry (worker) → training (course, enrolment, result, completion) → credit (certificate)
→ matching (an employer's job, the worker's application, offer, hire, finished engagement)
→ rating (the employer's review, allowed only now; a provisional level while the year is open)
→ matching (candidate with certificate; stars only once a level is published, which
test_rating_scenario.py follows), each service in its own process with its own SQLite
database, events over the platform's own nats-server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from devtools.run import Platform
from services.kit.auth import SigningKeys, TokenIssuer
from services.kit.idnumbers import make_id_card
from services.kit.settings import PlatformSettings

pytestmark = pytest.mark.e2e


def token_headers(
    platform: Platform, role: str, party_id: str | None = None, *, account: str | None = None
) -> dict[str, str]:
    settings = PlatformSettings()
    keys = SigningKeys.load(platform.config.var_dir / "secrets" / "jwt_keys.json")
    token, _ = TokenIssuer(
        keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=600
    ).issue(
        subject=account or str(uuid.uuid4()),  # an account id
        role=role,
        party_id=uuid.UUID(party_id) if party_id else None,
    )
    return {"Authorization": f"Bearer {token}"}


def poll(probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout}s: {last!r}")


def test_completion_reaches_the_candidate_through_every_service(platform: Platform) -> None:
    officer = token_headers(platform, "officer")
    id_card = make_id_card("441202", date(1985, 6, 15), "024")
    with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as api:
        created = api.post(
            "/api/v1/workers",
            json={
                "name": "黄美玲",
                "id_card_number": id_card,
                "phone": "13800138024",
                "county": "gaoyao",
                "tracks": ["maternal_infant"],
            },
        )
        assert created.status_code == 201, created.text
        worker = created.json()
        worker_id = worker["id"]

        course = api.post(
            "/api/v1/courses",
            json={
                "title": "母婴护理（初级）",
                "track": "maternal_infant",
                "training_type": "pre_job",
                "hours": 40,
            },
        )
        assert course.status_code == 201, course.text

        def enrol() -> Any:
            response = api.post(
                "/api/v1/enrollments",
                json={"course_id": course.json()["id"], "worker_id": worker_id},
            )
            if response.status_code == 422 and "unknown-worker" in response.json()["type"]:
                return None  # the registration event has not reached training yet
            assert response.status_code == 201, response.text
            return response.json()

        enrollment = poll(enrol)
        result = api.post(
            f"/api/v1/enrollments/{enrollment['id']}/result",
            json={"score": 92, "hours_attended": 40},
        )
        assert result.status_code == 200, result.text
        completed = api.post(f"/api/v1/enrollments/{enrollment['id']}/complete")
        assert completed.status_code == 200, completed.text
        assert completed.json()["passed"] is True

        def certificates() -> list[Any]:
            response = api.get(f"/api/v1/workers/{worker_id}/certificates")
            assert response.status_code == 200, response.text
            return response.json()["items"]

        [certificate] = poll(certificates)
        assert certificate["track"] == "maternal_infant"
        number = certificate["number"]
        assert number.startswith("ZQJS-")
        # Anyone may verify, but only with the check code printed on the certificate.
        public = httpx.Client(base_url=platform.gateway_url, timeout=10)
        with public:
            verify = f"/api/v1/verifications/certificates/{number}"
            verified = public.get(verify, params={"code": certificate["check_code"]})
            assert verified.status_code == 200 and verified.json()["valid"] is True
            assert public.get(verify).status_code == 404
            assert public.get(f"/api/v1/workers/{worker_id}/certificates").status_code == 401

        # The rater and the source come from the token, and an employer reviews only a finished
        # engagement of a job they posted: post, apply, offer, hire, start, finish, review.
        today = date.today()
        opened = api.post("/api/v1/assessments/years", json={"year": today.year})
        assert opened.status_code in (201, 409), opened.text
        account = str(uuid.uuid4())
        employer = token_headers(platform, "employer", str(uuid.uuid4()), account=account)
        me = token_headers(platform, "worker", worker_id)
        job = api.post(
            "/api/v1/jobs",
            json={
                "title": "月嫂 端州区",
                "track": "maternal_infant",
                "city": "zhaoqing",
                "schedule": "live-in, 26 days",
                "pay_min": 7000,
                "pay_max": 9000,
                "start_date": today.isoformat(),
            },
            headers=employer,
        )
        assert job.status_code == 201, job.text

        def apply() -> Any:
            response = api.post(
                f"/api/v1/jobs/{job.json()['id']}/applications", json={}, headers=me
            )
            if response.status_code == 201:
                return response.json()
            assert response.status_code in (404, 409, 422), response.text  # not known yet
            return None

        application = f"/api/v1/applications/{poll(apply)['id']}/actions"
        offer = {"start_date": today.isoformat(), "pay": 8000, "terms": "one month"}
        for who, step in (
            (employer, {"action": "offer", "offer": offer}),
            (me, {"action": "accept"}),
        ):
            moved = api.post(application, json=step, headers=who)
            assert moved.status_code == 200, moved.text
        engagement = f"/api/v1/engagements/{moved.json()['engagement_id']}"
        assert api.post(f"{engagement}/start", json={}, headers=employer).status_code == 200
        finished = api.post(
            f"{engagement}/finish", json={"end_date": today.isoformat()}, headers=employer
        )
        assert finished.status_code == 200, finished.text
        criteria = dict.fromkeys(
            ("skill", "punctuality", "attitude", "safety", "communication"), 95
        )
        review = {
            "worker_id": worker_id,
            "engagement_id": moved.json()["engagement_id"],
            "criteria": criteria,
        }

        def reviewed() -> bool:
            response = api.post("/api/v1/ratings", json=review, headers=employer)
            if response.status_code == 403 and "no-finished-engagement" in response.text:
                return False  # matching's event has not reached rating yet
            assert response.status_code == 201, response.text
            return True

        poll(reviewed)
        # Rating shows the level so far, marked provisional; matching does not rank by it.
        level = api.get(f"/api/v1/workers/{worker_id}/rating", headers=me)
        assert level.status_code == 200, level.text
        assert (level.json()["stars"], level.json()["provisional"]) == (5, True)

        def candidate() -> Any:
            response = api.get("/api/v1/candidates", params={"track": "maternal_infant"})
            assert response.status_code == 200, response.text
            for item in response.json()["items"]:
                if item["worker_id"] == worker_id and item["certificates"]:
                    return item
            return None

        found = poll(candidate)
        assert found["name"] == "黄美玲"
        assert found["county"] == "gaoyao"
        assert found["stars"] is None
        assert [c["number"] for c in found["certificates"]] == [number]
        assert found["certified_in_track"] is True


def test_gateway_serves_one_merged_openapi_document(platform: Platform) -> None:
    document = httpx.get(f"{platform.gateway_url}/openapi.json", timeout=10).json()
    paths = set(document["paths"])
    for expected in (
        "/api/v1/workers",
        "/api/v1/courses",
        "/api/v1/enrollments/{enrollment_id}/complete",
        "/api/v1/verifications/certificates/{number}",
        "/api/v1/ratings",
        "/api/v1/candidates",
    ):
        assert expected in paths, expected
    assert not [p for p in paths if p.startswith("/internal") or p in ("/healthz", "/readyz")]
    assert document.get("x-unavailable-services", []) == []
    docs = httpx.get(f"{platform.gateway_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
