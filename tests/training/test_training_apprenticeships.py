"""New-style enterprise apprenticeship: mentor qualification from rating events under a
versioned policy, monthly progress, and completion that counts like a course."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.credit import CertificateIssued
from contracts.rating import WorkerRatingChanged
from contracts.training import EnrollmentCompleted
from services.training.apprenticeships.models import KnownRating
from tests.support.apps import context, eventually
from tests.support.tokens import bearer
from tests.training.test_training_programme import handled, problem
from tests.training.training_support import Training

BASE = "/api/v1/apprenticeships"


def rating(worker_id: uuid.UUID, stars: int, *, provisional: bool = False) -> WorkerRatingChanged:
    return WorkerRatingChanged(
        worker_id=str(worker_id),
        year=2026,
        stars=stars,
        previous_stars=None,
        score=20.0 * stars,
        changed_at=datetime.now(UTC),
        provisional=provisional,
    )


async def rated(training: Training, worker_id: uuid.UUID, stars: int) -> None:
    """Announce the worker's published stars as rating would; wait until training has them."""
    await training.peer.publish(rating(worker_id, stars))

    async def arrived() -> bool:
        async with context(training.app).db.read() as session:
            row = await session.get(KnownRating, worker_id)
        return row is not None and row.stars == stars

    await eventually(arrived)


async def test_apprenticeship_completes_like_a_course(training: Training) -> None:
    company, other_company = uuid.uuid4(), uuid.uuid4()
    staff = bearer("company", company)
    course = await training.own_course(
        title="母婴护理企业新型学徒", training_type="apprenticeship", hours=100
    )
    mentor, apprentice = await training.known_worker("师傅"), await training.known_worker("徒弟")
    body = {
        "course_id": course["id"],
        "mentor_id": str(mentor),
        "apprentice_id": str(apprentice),
        "starts_on": "2026-03-01",
        "ends_on": "2026-08-31",
    }
    problem(await training.post(BASE, body, as_=staff), 409, "no-apprenticeship-policy")
    assert (
        await training.post(f"{BASE}/policy", {"mentor_min_stars": 4}, as_=staff)
    ).status_code == 403
    assert (await training.post(f"{BASE}/policy", {"mentor_min_stars": 4})).status_code == 201
    policy = (await training.client.get(f"{BASE}/policy")).json()
    assert policy["current"]["mentor_min_stars"] == 4

    await rated(training, mentor, 3)
    problem(await training.post(BASE, body, as_=staff), 422, "mentor-not-qualified")
    # A provisional level of the open year does not count; the published 3 stars stand.
    provisional = await training.peer.publish(rating(mentor, 5, provisional=True))
    await eventually(lambda: handled(training, "training-ratings", provisional.id))
    problem(await training.post(BASE, body, as_=staff), 422, "mentor-not-qualified")
    await rated(training, mentor, 4)
    foreign = {**body, "company_id": str(company)}
    assert (
        await training.post(BASE, foreign, as_=bearer("company", other_company))
    ).status_code == 403
    pre_job = await training.own_course()
    problem(
        await training.post(BASE, {**body, "course_id": pre_job["id"]}, as_=staff),
        422,
        "not-apprenticeship",
    )
    created = await training.post(BASE, body, as_=staff)
    assert created.status_code == 201, created.text
    contract = created.json()
    assert (contract["company_id"], contract["mentor_basis"], contract["mentor_stars"]) == (
        str(company),
        "stars",
        4,
    )
    assert contract["policy_version"] == 1
    path = f"{BASE}/{contract['id']}"

    for month, hours, assessment in (("2026-03", 60, 80), ("2026-04", 40, 70)):
        record = {"month": month, "hours": hours, "assessment": assessment}
        response = await training.post(f"{path}/progress", record, as_=staff)
        assert response.status_code == 200, response.text
    outside = {"month": "2026-09", "hours": 10, "assessment": 90}
    problem(await training.post(f"{path}/progress", outside, as_=staff), 422, "validation-error")
    other = bearer("company", other_company)
    assert (await training.post(f"{path}/progress", outside, as_=other)).status_code == 404

    for reader in (bearer("worker", apprentice), bearer("worker", mentor), staff):
        months = (await training.get(f"{path}/progress", as_=reader)).json()
        assert [m["month"] for m in months] == ["2026-03", "2026-04"]
    stranger = bearer("worker", uuid.uuid4())
    assert (await training.get(path, as_=stranger)).status_code == 404

    done = await training.post(f"{path}/complete", as_=staff)
    assert done.status_code == 200, done.text
    enrollment = done.json()["enrollment"]
    assert (enrollment["passed"], enrollment["hours_attended"], enrollment["score"]) == (
        True,
        100,
        75,
    )
    problem(await training.post(f"{path}/complete", as_=staff), 409, "already-completed")

    record = await training.get(
        f"/api/v1/skills-records/{apprentice}", as_=bearer("worker", apprentice)
    )
    assert [(i["kind"], i["hours"]) for i in record.json()["items"]] == [
        ("enrolled", None),
        ("apprenticeship_month", 60),
        ("apprenticeship_month", 40),
        ("completed", 100),
    ]

    await eventually(training.all_published)
    [event] = [
        EnrollmentCompleted.model_validate(e.data)
        for e in await training.peer.read("TRAINING", EnrollmentCompleted.subject)
    ]
    assert (event.worker_id, event.training_type, event.passed) == (
        str(apprentice),
        "apprenticeship",
        True,
    )


async def test_a_technical_expert_mentors_without_the_stars(training: Training) -> None:
    """The 技术能手 title qualifies a mentor whatever their stars: won in one of training's
    competitions, or held as credit's skill_title certificate."""
    company = uuid.uuid4()
    staff = bearer("company", company)
    assert (await training.post(f"{BASE}/policy", {"mentor_min_stars": 4})).status_code == 201
    course = await training.own_course(title="居家企业新型学徒", training_type="apprenticeship")
    winner, holder, plain = [await training.known_worker(n) for n in ("冠军", "能手", "普通")]
    await rated(training, winner, 2)

    def contract(mentor: uuid.UUID, apprentice: uuid.UUID) -> dict[str, str]:
        return {
            "course_id": course["id"],
            "mentor_id": str(mentor),
            "apprentice_id": str(apprentice),
            "starts_on": "2026-03-01",
            "ends_on": "2026-12-31",
        }

    problem(
        await training.post(BASE, contract(winner, plain), as_=staff), 422, "mentor-not-qualified"
    )
    problem(
        await training.post(BASE, contract(holder, plain), as_=staff), 422, "mentor-not-qualified"
    )

    # The winner of a training competition under a one-winner policy.
    assert (
        await training.post("/api/v1/competitions/policy", {"winners": 1, "min_total_score": 0})
    ).status_code == 201
    event = {"title": "居家保洁技能赛", "track": "housekeeping", "held_on": "2026-02-01"}
    competition = (await training.post("/api/v1/competitions", {**event, "rounds": 1})).json()
    path = f"/api/v1/competitions/{competition['id']}"
    entry = (await training.post(f"{path}/entries", {"worker_id": str(winner)})).json()
    scored = await training.post(
        f"{path}/scores", {"entry_id": entry["id"], "round": 1, "score": 95}
    )
    assert scored.status_code == 200, scored.text
    assert [e["awarded"] for e in (await training.post(f"{path}/finish")).json()] == [True]
    made = await training.post(BASE, contract(winner, plain), as_=staff)
    assert made.status_code == 201, made.text
    assert (made.json()["mentor_basis"], made.json()["mentor_stars"]) == ("technical_expert", 2)

    # A 技术能手 certificate credit issued (no stars known at all).
    certificate = CertificateIssued(
        certificate_id=str(uuid.uuid4()),
        certificate_number="ZQJS-2025-000777",
        kind="skill_title",
        worker_id=str(holder),
        track="housekeeping",
        course_id=None,
        enrollment_id=None,
        issued_at=datetime.now(UTC),
        valid_until=None,
    )
    published = await training.peer.publish(certificate)
    await eventually(lambda: handled(training, "training-certificates", published.id))
    other = await training.known_worker("徒弟二")
    made = await training.post(BASE, contract(holder, other), as_=staff)
    assert made.status_code == 201, made.text
    assert (made.json()["mentor_basis"], made.json()["mentor_stars"]) == ("technical_expert", None)
