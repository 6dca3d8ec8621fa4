"""Who may rate and read, from the verified token: the role × endpoint matrix and the
ballot-stuffing attacks of issue 16, on a real database and real NATS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.kit.policy import routes_without_policy
from tests.rating.rating_support import (
    YEAR,
    Headers,
    RatingHarness,
    company_staff,
    criteria,
    employer,
    officer,
    worker_account,
)
from tests.support.tokens import bearer


@dataclass
class Scene:
    """A worker employed by a company, reviewed once by an employer for a finished
    engagement."""

    worker: uuid.UUID
    company: uuid.UUID
    rater: uuid.UUID  # the employer's account
    rating_id: str
    engagement_id: str


async def scene(rating: RatingHarness) -> Scene:
    company = uuid.uuid4()
    worker = await rating.register()
    await rating.employ(worker, company)
    rater = uuid.uuid4()
    posted = await rating.review(rater, worker, comment="准时")
    assert posted.status_code == 201, posted.text
    return Scene(worker, company, rater, posted.json()["id"], posted.json()["engagement_id"])


def callers(s: Scene) -> dict[str, Callable[[], Headers]]:
    """Every kind of caller, as a fresh token each time."""
    return {
        "anonymous": lambda: {},
        "basic auth": lambda: {"Authorization": "Basic dXNlcjpwYXNz"},
        "officer": officer,
        "admin": lambda: bearer("admin"),
        "the rater": lambda: employer(s.rater),
        "worker self": lambda: worker_account(s.worker),
        "other worker": lambda: worker_account(uuid.uuid4()),
        "employing company": lambda: company_staff(s.company),
        "other company": lambda: company_staff(uuid.uuid4()),
        "other employer": lambda: employer(),
        "partner candidates:read": lambda: bearer(
            "partner", uuid.uuid4(), scopes=["candidates:read"]
        ),
        "partner workers:read": lambda: bearer("partner", uuid.uuid4(), scopes=["workers:read"]),
        "partner no scope": lambda: bearer("partner", uuid.uuid4()),
        "institution": lambda: bearer("institution", uuid.uuid4()),
    }


async def test_every_route_declares_a_policy(rating: RatingHarness) -> None:
    assert routes_without_policy(rating.app) == []


#: The role × endpoint matrix, exact statuses. The scene's worker is employed by "employing
#: company" and rated once by "the rater"; for the list, the number of scores each caller sees
#: of two (the scene's and another worker's). A refused record of a role that may see some is
#: 404; a role that may never call the route is 403; no valid bearer token is 401.
#: Columns: GET /ratings/{id}; GET /ratings (status, scores seen); GET /workers/{id}/rating;
#: POST /ratings without an engagement (issue 11: an employer reviews only a finished
#: engagement, so every employer is 403 here; before, any employer could post a score).
MATRIX: dict[str, tuple[int, tuple[int, int | None], int, int]] = {
    "anonymous": (401, (401, None), 401, 401),
    "basic auth": (401, (401, None), 401, 401),
    "officer": (200, (200, 2), 200, 403),
    "admin": (200, (200, 2), 200, 403),
    "the rater": (200, (200, 1), 200, 403),
    "worker self": (200, (200, 1), 200, 201),
    "other worker": (404, (200, 0), 404, 403),
    "employing company": (200, (200, 1), 200, 201),
    "other company": (404, (200, 0), 404, 403),
    "other employer": (404, (200, 0), 200, 403),
    "partner candidates:read": (403, (403, None), 200, 403),
    "partner workers:read": (403, (403, None), 403, 403),
    "partner no scope": (403, (403, None), 403, 403),
    "institution": (403, (403, None), 403, 403),
}


def column(index: int) -> dict[str, object]:
    return {caller: row[index] for caller, row in MATRIX.items()}


async def test_reading_one_score(rating: RatingHarness) -> None:
    s = await scene(rating)
    actual: dict[str, object] = {}
    for name, headers in callers(s).items():
        response = await rating.get(f"/api/v1/ratings/{s.rating_id}", headers())
        actual[name] = response.status_code
        if response.status_code != 200:
            assert response.headers["content-type"].startswith("application/problem+json")
    assert actual == column(0)


async def test_listing_scores_shows_each_caller_only_theirs(rating: RatingHarness) -> None:
    s = await scene(rating)
    # A score of another worker, which only staff and its rater may list.
    elsewhere = await rating.register()
    assert (await rating.review(uuid.uuid4(), elsewhere)).status_code == 201
    actual: dict[str, object] = {}
    for name, headers in callers(s).items():
        response = await rating.get("/api/v1/ratings", headers())
        count = len(response.json()["items"]) if response.status_code == 200 else None
        actual[name] = (response.status_code, count)
    assert actual == column(1)
    # Asking for another worker's scores by filter does not widen what one sees.
    snooping = await rating.get(
        "/api/v1/ratings", worker_account(uuid.uuid4()), params={"worker_id": str(s.worker)}
    )
    assert snooping.json()["items"] == []


async def test_reading_the_star_level(rating: RatingHarness) -> None:
    s = await scene(rating)
    actual: dict[str, object] = {}
    for name, headers in callers(s).items():
        response = await rating.get(f"/api/v1/workers/{s.worker}/rating", headers())
        actual[name] = response.status_code
        if response.status_code == 200:
            assert response.json()["stars"] == 4
    assert actual == column(2)
    # A refused company learns nothing that a missing rating would not tell it.
    refused = await rating.get(f"/api/v1/workers/{s.worker}/rating", company_staff(uuid.uuid4()))
    missing = await rating.get(f"/api/v1/workers/{uuid.uuid4()}/rating", officer())
    assert refused.json()["type"] == missing.json()["type"]


async def test_posting_a_score(rating: RatingHarness) -> None:
    s = await scene(rating)
    actual: dict[str, object] = {}
    for name, headers in callers(s).items():
        response = await rating.rate(headers(), s.worker, score=90)
        actual[name] = response.status_code
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
    assert actual == column(3)
    assert (await rating.rate({}, s.worker)).headers["www-authenticate"].startswith("Bearer")
    level = await rating.get(f"/api/v1/workers/{s.worker}/rating", officer())
    assert level.json()["sources"] == {
        "employer": {"count": 1, "mean": 85.0},
        "company": {"count": 1, "mean": 90.0},
        "self": {"count": 1, "mean": 90.0},
    }


async def test_reviewing_needs_a_finished_engagement_of_ones_own(rating: RatingHarness) -> None:
    """Issue 11: an employer review stands on a finished engagement whose job the reviewer
    posted, for that engagement's worker; every other case is the same 403."""
    s = await scene(rating)
    other_worker = await rating.register()
    theirs = await rating.finish_engagement(other_worker, uuid.uuid4())
    mine_of_other = await rating.finish_engagement(other_worker, s.rater)

    def body(worker: uuid.UUID, engagement: object) -> dict[str, object]:
        return {
            "worker_id": str(worker),
            "engagement_id": str(engagement),
            "criteria": criteria(90),
        }

    refused = [
        # An engagement nobody announced as finished (unknown, or not finished yet).
        (employer(s.rater), body(s.worker, uuid.uuid4())),
        # Someone else's engagement.
        (employer(s.rater), body(other_worker, theirs)),
        # The rater's own engagement, but with another worker than the one named.
        (employer(s.rater), body(s.worker, mine_of_other)),
        # Another account of the same household is not the poster.
        (employer(), body(s.worker, s.engagement_id)),
    ]
    answers = [
        await rating.client.post("/api/v1/ratings", json=b, headers=dict(h)) for h, b in refused
    ]
    assert [a.status_code for a in answers] == [403] * 4, [a.text for a in answers]
    assert {a.json()["type"] for a in answers} == {
        "https://jiasao.gov.cn/problems/no-finished-engagement"
    }
    assert len({a.json()["detail"] for a in answers}) == 1
    # Workers and partners do not review engagements, whoever's they are.
    for headers in (worker_account(s.worker), bearer("partner", uuid.uuid4())):
        answer = await rating.client.post(
            "/api/v1/ratings", json=body(other_worker, theirs), headers=dict(headers)
        )
        assert answer.status_code == 403
    # The scene's engagement, reviewed once already: 409.
    again = await rating.client.post(
        "/api/v1/ratings", json=body(s.worker, s.engagement_id), headers=dict(employer(s.rater))
    )
    assert again.status_code == 409
    # The rater's engagement with the other worker: that review is theirs to give.
    allowed = await rating.client.post(
        "/api/v1/ratings", json=body(other_worker, mine_of_other), headers=dict(employer(s.rater))
    )
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["source"] == "employer"


async def test_the_review_window_closes(rating: RatingHarness) -> None:
    worker = await rating.register()
    account = uuid.uuid4()
    window = (await rating.get("/api/v1/assessments/policy", officer())).json()["rules"][
        "review_window_days"
    ]
    now = datetime.now(UTC)
    late = await rating.finish_engagement(
        worker, account, finished_at=now - timedelta(days=window, minutes=1)
    )
    just_in = await rating.finish_engagement(
        worker, account, finished_at=now - timedelta(days=window, minutes=-5)
    )
    for engagement, status in ((late, 403), (just_in, 201)):
        answer = await rating.client.post(
            "/api/v1/ratings",
            json={
                "worker_id": str(worker),
                "engagement_id": str(engagement),
                "criteria": criteria(80),
            },
            headers=dict(employer(account)),
        )
        assert answer.status_code == status, answer.text
    assert answer.json()["year"] == YEAR


# --- the attacks of issue 16 ---------------------------------------------------------------


async def test_a_worker_cannot_rate_themself_as_employer_or_company(rating: RatingHarness) -> None:
    worker = await rating.register()
    me = worker_account(worker)
    for forged in ({"source": "employer"}, {"source": "company"}, {"rater_id": str(uuid.uuid4())}):
        refused = await rating.rate(me, worker, score=100, **forged)
        assert refused.status_code == 422, (forged, refused.text)
        assert set(forged) <= {e["field"] for e in refused.json()["errors"]}
    assert await rating.outbox_count() == 0

    posted = await rating.rate(me, worker, score=100)
    assert posted.status_code == 201
    assert posted.json()["source"] == "self"
    # Self-evaluation alone never lifts a worker above three stars.
    assert posted.json()["level"] == {"stars": 3, "score": 100.0}


async def test_a_worker_cannot_push_another_worker_down(rating: RatingHarness) -> None:
    victim = await rating.register()
    attacker = await rating.register()
    refused = await rating.rate(worker_account(attacker), victim, score=0)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/forbidden")
    assert (await rating.get(f"/api/v1/workers/{victim}/rating", officer())).status_code == 404
    listed = await rating.get("/api/v1/ratings", officer(), params={"worker_id": str(victim)})
    assert listed.json()["items"] == []
    assert await rating.outbox_count() == 0


async def test_a_company_cannot_rate_a_worker_it_does_not_employ(rating: RatingHarness) -> None:
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    independent = await rating.register()
    employed_elsewhere = await rating.register(company_id=theirs)

    answers = [
        await rating.rate(company_staff(ours), independent, score=0),
        await rating.rate(company_staff(ours), employed_elsewhere, score=0),
        # An unknown id gets the very same answer: nothing is learnt about who exists.
        await rating.rate(company_staff(ours), uuid.uuid4(), score=0),
        # Company staff acting for no company at all.
        await rating.rate(bearer("company"), employed_elsewhere, score=0),
    ]
    assert [a.status_code for a in answers] == [403] * 4
    assert len({a.json()["detail"] for a in answers}) == 1
    assert await rating.outbox_count() == 0

    # Once the worker moves to us, we may rate them, and the company they left may not.
    await rating.employ(employed_elsewhere, ours, previous=theirs)
    assert (await rating.rate(company_staff(ours), employed_elsewhere)).status_code == 201
    assert (await rating.rate(company_staff(theirs), employed_elsewhere)).status_code == 403
    # When they leave, nobody rates them as their company.
    await rating.employ(employed_elsewhere, None, previous=ours)
    assert (await rating.rate(company_staff(ours), employed_elsewhere)).status_code == 403


async def test_the_same_rater_posting_again_is_refused(rating: RatingHarness) -> None:
    """Issue 11 (before: the score was replaced): a fresh token of the same account cannot
    post again for the same engagement or year; the first score stands."""
    company = uuid.uuid4()
    worker = await rating.register(company_id=company)
    accounts = {source: uuid.uuid4() for source in ("employer", "company", "self")}

    def token(source: str) -> Headers:
        """A fresh token of the same account each time."""
        if source == "employer":
            return employer(accounts[source])
        if source == "company":
            return company_staff(company, accounts[source])
        return worker_account(worker, accounts[source])

    first = await rating.review(accounts["employer"], worker, score=40)
    assert first.status_code == 201, first.text
    engagement = first.json()["engagement_id"]
    for source in ("company", "self"):
        posted = await rating.rate(token(source), worker, score=40)
        assert posted.status_code == 201, posted.text
    for source in accounts:
        extra = {"engagement_id": engagement, "criteria": criteria(90), "score": None}
        again = await rating.rate(token(source), worker, **(extra if source == "employer" else {}))
        assert again.status_code == 409, again.text
        assert again.json()["type"].endswith("/already-rated")

    listed = await rating.get("/api/v1/ratings", officer(), params={"worker_id": str(worker)})
    assert sorted(item["score"] for item in listed.json()["items"]) == [40.0, 40.0, 40.0]
    level = await rating.get(f"/api/v1/workers/{worker}/rating", officer(), params={"year": YEAR})
    assert level.json()["sources"] == {
        source: {"count": 1, "mean": 40.0} for source in ("employer", "company", "self")
    }


# --- what each reader sees ------------------------------------------------------------------


async def test_the_rated_worker_does_not_see_who_rated_them(rating: RatingHarness) -> None:
    s = await scene(rating)
    me = uuid.uuid4()
    own = (await rating.rate(worker_account(s.worker, me), s.worker, score=70)).json()

    listed = await rating.get("/api/v1/ratings", worker_account(s.worker, me))
    raters = {item["source"]: item["rater_id"] for item in listed.json()["items"]}
    assert raters == {"employer": None, "self": str(me)}
    assert [item["comment"] for item in listed.json()["items"]] == ["准时", None]

    one = await rating.get(f"/api/v1/ratings/{s.rating_id}", worker_account(s.worker, me))
    assert one.json()["rater_id"] is None and one.json()["comment"] == "准时"
    mine = await rating.get(f"/api/v1/ratings/{own['id']}", worker_account(s.worker, me))
    assert mine.json()["rater_id"] == str(me)

    # Staff, the rater and the employing company see the rater.
    for headers in (officer(), employer(s.rater), company_staff(s.company)):
        seen = await rating.get(f"/api/v1/ratings/{s.rating_id}", headers)
        assert seen.json()["rater_id"] == str(s.rater)
        # The two views differ, so a cached copy of one never answers for the other.
        assert seen.headers["etag"] != one.headers["etag"]


async def test_a_company_sees_only_its_current_employees_scores(rating: RatingHarness) -> None:
    s = await scene(rating)
    staff = company_staff(s.company)
    assert (await rating.get(f"/api/v1/ratings/{s.rating_id}", staff)).status_code == 200
    await rating.employ(s.worker, None, previous=s.company)
    assert (await rating.get(f"/api/v1/ratings/{s.rating_id}", staff)).status_code == 404
    assert (await rating.get("/api/v1/ratings", staff)).json()["items"] == []
    assert (await rating.get(f"/api/v1/workers/{s.worker}/rating", staff)).status_code == 404


async def test_the_request_body_names_no_rater(rating: RatingHarness) -> None:
    schema = (await rating.client.get("/openapi.json")).json()
    body = schema["components"]["schemas"]["RatingCreate"]
    assert set(body["properties"]) == {
        "worker_id",
        "year",
        "score",
        "comment",
        "engagement_id",
        "criteria",
    }
    assert body["additionalProperties"] is False
    post = schema["paths"]["/api/v1/ratings"]["post"]
    assert post["x-jiasao-policy"]["roles"] == ["company", "employer", "worker"]
    level = schema["paths"]["/api/v1/workers/{worker_id}/rating"]["get"]
    assert level["x-jiasao-policy"]["scopes"] == ["candidates:read"]
