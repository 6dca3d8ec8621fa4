"""Issue 11's "Done when" across processes, all through the gateway over HTTP: registry,
matching, rating and credit each in their own process, events over the platform's nats-server.

Two engagements are posted, accepted, started and finished in matching; their employers'
reviews are accepted by rating once matching's events arrive; a third review of the same
engagement is 409 and a review without a finished engagement 403. The worker's company
evaluates them and the worker evaluates themself. The officer closes the year: the level is
published with the policy version, its explanation sums to the score, and matching (the
candidate's stars) and credit (the worker's credit file) reflect it. The worker appeals the
low review; the officer upholds the appeal; the level is republished higher and matching and
credit follow again.

The engagements ended last December and are reviewed now (a review counts for the year the
engagement ended): the scenario opens and closes *last* year's assessment, so it shares the
session's platform while the other tests keep this year open.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devtools.run import Platform
from services.credit.numbers import local_date
from services.kit.idnumbers import make_id_card
from tests.e2e.test_chain import token_headers
from tests.e2e.test_credit_scenario import ok, poll
from tests.registry.test_parties_support import company_body, new_phone

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
CRITERIA = ("skill", "punctuality", "attitude", "safety", "communication")


def points_sum(explanation: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(c["points"])) for c in explanation), Decimal(0))


def problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"].endswith(f"/{slug}"), response.json()


def register_worker(api: httpx.Client, today: date, company_id: str) -> str:
    seq = f"{uuid.uuid4().int % 900 + 100}"
    checked = {"date": (today - timedelta(days=10)).isoformat()}
    until = (today + timedelta(days=355)).isoformat()
    worker_id: str = ok(
        api.post(
            "/api/v1/workers",
            json={
                "name": "陈丽华",
                "id_card_number": make_id_card("441202", date(1984, 8, 21), seq),
                "phone": new_phone(),
                "county": "duanzhou",
                "tracks": ["maternal_infant"],
                "health_check": checked
                | {"institution": "肇庆市第一人民医院", "valid_until": until},
                "no_criminal_record": checked | {"result": "clear", "valid_until": until},
                "employment": {"company_id": company_id},
            },
        ),
        201,
    )["id"]
    ok(api.post(f"/api/v1/workers/{worker_id}/verify"))
    ok(api.post(f"/api/v1/workers/{worker_id}/status", json={"to": "active", "reason": "上岗"}))
    return worker_id


def finished_engagement(
    api: httpx.Client, employer: dict[str, str], me: dict[str, str], today: date
) -> str:
    """Matching: the employer's job, the worker's application, an offer for last December,
    acceptance, start and finish; the engagement's id."""
    december = date(today.year - 1, 12, 1)
    job_id = ok(
        api.post(
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
        ),
        201,
    )["id"]

    def apply() -> Any:
        response = api.post(f"/api/v1/jobs/{job_id}/applications", json={}, headers=me)
        if response.status_code == 201:
            return response.json()
        assert response.status_code in (404, 409, 422), response.text  # worker not known yet
        return None

    actions = f"/api/v1/applications/{poll(apply)['id']}/actions"
    offer = {"start_date": december.isoformat(), "pay": 8000, "terms": "December"}
    ok(api.post(actions, json={"action": "offer", "offer": offer}, headers=employer))
    engagement_id: str = ok(api.post(actions, json={"action": "accept"}, headers=me))[
        "engagement_id"
    ]
    engagement = f"/api/v1/engagements/{engagement_id}"
    ok(api.post(f"{engagement}/start", json={}, headers=employer))
    ok(
        api.post(
            f"{engagement}/finish",
            json={"end_date": december.replace(day=28).isoformat()},
            headers=employer,
        )
    )
    return engagement_id


def test_a_year_of_stars_across_services(platform: Platform) -> None:
    today = local_date(datetime.now(UTC))
    year = today.year - 1
    officer = token_headers(platform, "officer")
    with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as api:
        company_id = ok(api.post("/api/v1/companies", json=company_body()), 201)["id"]
        worker_id = register_worker(api, today, company_id)
        me = token_headers(platform, "worker", worker_id)
        opened = ok(api.post("/api/v1/assessments/years", json={"year": year}), 201)
        assert opened["status"] == "open"
        policy = ok(api.get("/api/v1/assessments/policy"))
        version = policy["version"]

        # --- two finished engagements -> two reviews ---------------------------------------
        households = [
            token_headers(platform, "employer", str(uuid.uuid4()), account=str(uuid.uuid4()))
            for _ in range(2)
        ]
        engagements = [finished_engagement(api, h, me, today) for h in households]

        def review(household: dict[str, str], engagement_id: str, value: int) -> Any:
            body = {
                "worker_id": worker_id,
                "engagement_id": engagement_id,
                "criteria": dict.fromkeys(CRITERIA, value),
                "comment": "评价",
            }

            def post() -> Any:
                response = api.post("/api/v1/ratings", json=body, headers=household)
                if response.status_code == 403 and "no-finished-engagement" in response.text:
                    return None  # matching's event has not reached rating yet
                return ok(response, 201)

            return poll(post)

        good = review(households[0], engagements[0], 90)
        low = review(households[1], engagements[1], 20)
        assert (good["status"], low["status"]) == ("visible", "visible")
        assert good["year"] == low["year"] == year

        # A third review for the same engagement: 409. Without a finished engagement: 403,
        # also for another household's engagement.
        again = {
            "worker_id": worker_id,
            "engagement_id": engagements[0],
            "criteria": dict.fromkeys(CRITERIA, 100),
        }
        problem(
            api.post("/api/v1/ratings", json=again, headers=households[0]), 409, "already-rated"
        )
        stranger = token_headers(platform, "employer", str(uuid.uuid4()), account=str(uuid.uuid4()))
        for engagement_id, who in ((str(uuid.uuid4()), stranger), (engagements[1], households[0])):
            refused = api.post(
                "/api/v1/ratings",
                json=again | {"engagement_id": engagement_id},
                headers=who,
            )
            problem(refused, 403, "no-finished-engagement")

        # --- the company's evaluation (once registry's employment arrived) and the self one --
        staff = token_headers(platform, "company", company_id)

        def evaluate() -> Any:
            response = api.post(
                "/api/v1/ratings",
                json={"worker_id": worker_id, "year": year, "score": 80},
                headers=staff,
            )
            if response.status_code == 403:
                return None  # the worker's employment has not reached rating yet
            return ok(response, 201)

        assert poll(evaluate)["source"] == "company"
        own = ok(
            api.post(
                "/api/v1/ratings",
                json={"worker_id": worker_id, "year": year, "score": 80},
                headers=me,
            ),
            201,
        )
        assert own["source"] == "self"
        # Policy v1: 0.5 x mean(90, 20) + 0.3 x 80 + 0.2 x 80 = 67.5: two stars, provisional.
        provisional = ok(
            api.get(f"/api/v1/workers/{worker_id}/rating", params={"year": year}, headers=me)
        )
        assert provisional["provisional"] is True
        assert (provisional["stars"], provisional["score"]) == (2, 67.5)
        # The provisional levels so far (5, 1, then 2 stars) are not the assessment: matching
        # shows no stars for them (and credit keeps no record of them, checked below).
        assert ok(api.get(f"/api/v1/candidates/{worker_id}"))["stars"] is None

        # --- the officer closes the year: the level is published ---------------------------
        closed = ok(api.post(f"/api/v1/assessments/years/{year}/close"))
        assert closed["status"] == "closed" and closed["policy_version"] == version
        assert closed["published"] >= 1
        late = api.post(
            "/api/v1/ratings", json={"worker_id": worker_id, "year": year, "score": 90}, headers=me
        )
        problem(late, 409, "assessment-year-not-open")

        def published(stars: int, publications: int) -> dict[str, Any]:
            level = ok(
                api.get(f"/api/v1/workers/{worker_id}/rating", params={"year": year}, headers=me)
            )
            assert level["provisional"] is False and level["policy_version"] == version
            assert level["stars"] == stars
            assert points_sum(level["explanation"]) == Decimal(str(level["score"]))
            view = ok(api.get(f"/api/v1/assessments/workers/{worker_id}", headers=me))
            assert len(view["history"]) == publications
            for publication in view["history"]:
                assert publication["policy_version"] == version
                assert points_sum(publication["explanation"]) == Decimal(str(publication["score"]))
            latest = view["history"][-1]
            assert (latest["year"], latest["stars"], latest["score"]) == (
                year,
                stars,
                level["score"],
            )
            return {"level": level, "latest": latest}

        first = published(2, 1)
        assert first["level"]["score"] == 67.5 and first["latest"]["reason"] == "closing"
        sources = {c["source"]: c for c in first["level"]["explanation"]}
        assert sources["employer"]["count"] == 2 and sources["employer"]["mean"] == 55.0

        # --- matching and credit reflect the published level --------------------------------
        def candidate_with(stars: int) -> Any:
            response = api.get(f"/api/v1/candidates/{worker_id}")
            found = response.json() if response.status_code == 200 else None
            if found and found["stars"] == stars:
                assert found["rating_year"] == year
                return found
            return None

        def listed_with(stars: int) -> Any:
            response = api.get(
                "/api/v1/candidates", params={"track": "maternal_infant", "min_stars": stars}
            )
            items = ok(response)["items"]
            return [i for i in items if i["worker_id"] == worker_id and i["stars"] == stars]

        def credit_kinds(wanted: str, gone: str | None = None) -> Any:
            response = api.get(f"/api/v1/credit-files/worker/{worker_id}")
            found = response.json() if response.status_code == 200 else None
            if not found:
                return None
            kinds = [line["kind"] for line in found["explanation"]]
            if wanted not in kinds or (gone is not None and gone in kinds):
                return None
            assert (
                found["base_score"] + sum(line["points"] for line in found["explanation"])
                == found["score"]
            )
            return found

        def rating_records() -> list[tuple[str, str]]:
            records = ok(api.get(f"/api/v1/credit-files/worker/{worker_id}/records"))["items"]
            return [
                (r["kind"], r["reason"])
                for r in records
                if r["source_ref"] == f"rating:{worker_id}:{year}"
            ]

        poll(lambda: candidate_with(2))
        assert poll(lambda: listed_with(2))
        low_file = poll(lambda: credit_kinds("rating_low"))
        [line] = [e for e in low_file["explanation"] if e["kind"] == "rating_low"]
        assert line["points"] < 0
        # One record from the published level; none from the provisional ones before it.
        assert rating_records() == [("rating_low", f"2 stars in {year}")]

        # --- an appeal of the low review is upheld: the level changes again ------------------
        appeal = ok(
            api.post(
                "/api/v1/assessments/appeals",
                json={"year": year, "rating_id": low["id"], "reason": "那家人没有付工资，报复差评"},
                headers=me,
            ),
            201,
        )
        assert appeal["status"] == "pending" and appeal["overdue"] is False
        decided = ok(
            api.post(
                f"/api/v1/assessments/appeals/{appeal['id']}/decision",
                json={"outcome": "upheld", "reason": "Retaliation confirmed by the company"},
            )
        )
        assert decided["status"] == "upheld"
        hidden = ok(api.get(f"/api/v1/ratings/{low['id']}"))
        assert hidden["status"] == "hidden"
        # 0.5 x 90 + 0.3 x 80 + 0.2 x 80 = 85: four stars, republished.
        second = published(4, 2)
        assert second["level"]["score"] == 85.0
        assert (second["latest"]["reason"], second["latest"]["appeal_id"]) == (
            "appeal",
            appeal["id"],
        )
        poll(lambda: candidate_with(4))
        assert poll(lambda: listed_with(4))
        high_file = poll(lambda: credit_kinds("stars_high", gone="rating_low"))
        assert high_file["score"] > low_file["score"]
        assert rating_records() == [
            ("rating_low", f"2 stars in {year}"),
            ("stars_high", f"4 stars in {year}"),
        ]
