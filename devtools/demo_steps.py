"""The registry and training steps of ``make demo`` (devtools/demo.py), in order; the
recruitment-market steps follow in devtools/demo_market.py. Each takes the session and the
shared ``state`` dict, calls only the gateway's public API, and counts what it created."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from devtools.demo_client import Actor, DemoError, Session, State, eventually, officer, pick, small
from devtools.demo_data import (
    COMPANY_COUNT,
    COUNTIES,
    COUNTY_NAMES,
    INSTITUTION_LEVELS,
    TRACK_NAMES,
    TRACKS,
    company_row,
    institution_row,
    jsonl,
    worker_row,
)

JSONL = {"Content-Type": "application/x-ndjson"}


async def _import(session: Session, kind: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk-import ``rows`` and wait for the job; its counts."""
    job = await session.admin.json(
        "POST", f"/api/v1/imports/{kind}", content=jsonl(rows), headers=JSONL, ok=(202,)
    )

    async def finished() -> Any:
        current = await session.admin.json("GET", f"/api/v1/imports/{job['id']}")
        return current if current["status"] not in ("queued", "running") else None

    done = await eventually(finished, f"the {kind} import", timeout=240)
    if done["status"] != "done":
        raise DemoError(f"the {kind} import ended {done['status']}: {done.get('error')}")
    session.count(kind, done["counts"]["created"])
    return done["counts"]  # type: ignore[no-any-return]


async def step_accounts(session: Session, state: State) -> None:
    """Officers: the programme's staff (requests are spread over them)."""
    state["officers"] = [
        await session.account(f"演示科员{k}", f"1350000000{k}", "officer")
        for k in ((1,) if small(state) else (1, 2))
    ]


async def step_organisations(session: Session, state: State) -> None:
    """Companies and training institutions (bulk import), and staff accounts for them."""
    await _import(session, "companies", [company_row(i) for i in range(COMPANY_COUNT)])
    institutions = [institution_row(i) for i in range(len(INSTITUTION_LEVELS))]
    await _import(session, "institutions", institutions)
    by_code = {c["credit_code"]: c for c in await session.admin.pages("/api/v1/companies")}
    state["companies"] = [by_code[company_row(i)["credit_code"]] for i in range(COMPANY_COUNT)]
    by_code = {c["credit_code"]: c for c in await session.admin.pages("/api/v1/institutions")}
    state["institutions"] = [by_code[row["credit_code"]] for row in institutions]
    state["company_staff"] = [
        await session.account(f"公司职员{k}", f"1360000000{k}", "company", company["id"])
        for k, company in enumerate(state["companies"][: 1 if small(state) else 2])
    ]
    state["institution_staff"] = [
        await session.account(f"培训学校{k}", f"1361000000{k}", "institution", inst["id"])
        for k, inst in enumerate(state["institutions"][: 1 if small(state) else None])
    ]


async def step_workers(session: Session, state: State) -> None:
    """The workers, across the eight counties, by the registry's bulk import."""
    today = date.today()
    count = state["workers"]
    await _import(session, "workers", [worker_row(i, count, today) for i in range(count)])
    workers = await session.admin.pages("/api/v1/workers")
    state["all_workers"] = workers
    employed = [w for w in workers if w.get("company_id") and w.get("health_check")]
    state["card_candidates"] = employed[: max(count // 20, 5)]


async def step_verify(session: Session, state: State) -> None:
    """Identity checks of the workers who will qualify for a home-service card."""

    async def verify(pair: tuple[int, dict[str, Any]]) -> None:
        k, worker = pair
        response = await officer(state, k).call(
            "POST", f"/api/v1/workers/{worker['id']}/verify", ok=(200, 409)
        )
        if response.status_code == 200:
            session.count("workers verified")

    await session.each(list(enumerate(state["card_candidates"])), verify)


async def step_courses(session: Session, state: State) -> None:
    """Courses of every institution in the four tracks (pre-job), and a refresher course."""
    staffed = zip(state["institutions"], state["institution_staff"], strict=False)
    # Institutions without staff (small runs) have no course.
    plan = [(k, inst, staff, track) for k, (inst, staff) in enumerate(staffed) for track in TRACKS]

    async def create(item: tuple[int, dict[str, Any], Actor, str]) -> dict[str, Any]:
        k, inst, staff, track = item
        course = await officer(state, k).json(
            "POST",
            "/api/v1/courses",
            json={
                "title": f"{TRACK_NAMES[track]}（初级）· {inst['name'][-8:]}",
                "track": track,
                "training_type": "pre_job",
                "hours": 40,
                "institution_id": inst["id"],
                "county": inst["county"],
                "free_for_target_groups": True,
                "tuition_fee": 1200,
            },
        )
        session.count("courses")
        return {**course, "staff": staff}

    courses = await session.each(plan, create)
    refresher = await officer(state, 0).json(
        "POST",
        "/api/v1/courses",
        json={
            "title": "养老护理（提升）",
            "track": "elderly_care",
            "training_type": "refresher",
            "hours": 24,
            "institution_id": state["institutions"][0]["id"],
        },
    )
    session.count("courses")
    state["courses"] = courses
    state["refresher"] = refresher


async def step_training(session: Session, state: State) -> None:
    """Enrolments and completions: a pass is certified by credit (and, for workers meeting
    every condition, a home-service card follows) through events."""
    courses: list[dict[str, Any]] = state["courses"]
    candidates = state["card_candidates"]
    others = [w for w in state["all_workers"] if w not in candidates]
    chosen = candidates + others[: max(state["workers"] // 12 - len(candidates), 0)]
    passed: list[dict[str, Any]] = []

    async def train(worker: dict[str, Any]) -> None:
        track = worker["tracks"][0]
        fitting = [c for c in courses if c["track"] == track]
        course = fitting[pick(worker["id"], len(fitting))]
        staff: Actor = course["staff"]

        async def enrol() -> Any:
            response = await staff.call(
                "POST",
                "/api/v1/enrollments",
                ok=(201, 409, 422),
                json={"course_id": course["id"], "worker_id": worker["id"]},
            )
            if response.status_code == 201:
                return response.json()
            if response.status_code == 409:
                return {"skip": True}  # enrolled by an earlier run
            if "unknown-worker" in response.text:
                return None  # the registration has not reached training yet
            raise DemoError(f"enrolment refused: {response.text[:300]}")

        enrollment = await eventually(enrol, "training to learn of the workers")
        if enrollment.get("skip"):
            return
        session.count("enrolments")
        good = worker in candidates or pick(worker["id"] + "score", 10) > 0
        score = 70 + pick(worker["id"], 29) if good else 40 + pick(worker["id"], 19)
        await staff.call(
            "POST",
            f"/api/v1/enrollments/{enrollment['id']}/result",
            json={"score": score, "hours_attended": 40},
        )
        done = await staff.json("POST", f"/api/v1/enrollments/{enrollment['id']}/complete")
        session.count("completions")
        if done.get("passed"):
            session.count("completions passed")
            passed.append({"worker": worker, "enrollment": enrollment, "staff": staff})

    await session.each(chosen, train)
    state["passed"] = passed


async def step_subsidies(session: Session, state: State) -> None:
    """The subsidy policy (if none yet) and claims for a third of the passes: most approved,
    half of those paid."""
    policy = await session.public().json("GET", "/api/v1/subsidies/policy")
    if policy["current"] is None:
        await officer(state, 0).call(
            "POST",
            "/api/v1/subsidies/policy",
            json={"amounts": {"pre_job": 800, "refresher": 500, "entrepreneurship": 1000}},
        )

    async def claim(pair: tuple[int, dict[str, Any]]) -> None:
        k, done = pair
        staff: Actor = done["staff"]
        response = await staff.call(
            "POST",
            "/api/v1/subsidies",
            ok=(201, 409),
            json={"enrollment_id": done["enrollment"]["id"]},
        )
        if response.status_code == 409:
            return
        session.count("subsidy claims")
        claim_id = response.json()["id"]
        if k % 5 == 4:
            return  # left pending for the officers' queue
        decision = "reject" if k % 7 == 3 else "approve"
        review: dict[str, Any] = {"decision": decision}
        if decision == "reject":
            review["reason"] = "材料不全"
        await officer(state, k).call("POST", f"/api/v1/subsidies/{claim_id}/review", json=review)
        if decision == "approve" and k % 2 == 0:
            await officer(state, k).call(
                "POST",
                f"/api/v1/subsidies/{claim_id}/pay",
                json={"payment_reference": f"ZQCZ-{date.today().year}-{k:06d}"},
            )
            session.count("subsidies paid")

    passed = state["passed"]
    await session.each(list(enumerate(passed[: max(len(passed) // 3, 1)])), claim)


async def step_bases(session: Session, state: State) -> None:
    """Demonstration training bases (2 provincial, 4 municipal of the 6 targeted)."""
    existing = {b["name"] for b in await session.public().pages("/api/v1/training-bases")}
    for k, level in enumerate(["provincial_demonstration"] * 2 + ["municipal_demonstration"] * 4):
        county = COUNTIES[k]
        if f"{COUNTY_NAMES[county][0]}家政示范培训基地" in existing:
            continue  # made by an earlier run
        await officer(state, k).call(
            "POST",
            "/api/v1/training-bases",
            json={
                "name": f"{COUNTY_NAMES[county][0]}家政示范培训基地",
                "level": level,
                "county": county,
                "address": f"肇庆市{COUNTY_NAMES[county][0]}基地路{k + 1}号",
                "capacity": 200 + 50 * k,
            },
        )
        session.count("training bases")


async def step_competition(session: Session, state: State) -> None:
    """A skill competition whose top three are named 技术能手 (training.competition.awarded:
    credit certifies them, rating puts them on the public roll)."""
    staff = officer(state, 0)
    policy = await session.public().json("GET", "/api/v1/competitions/policy")
    if policy["current"] is None:
        await staff.call("POST", "/api/v1/competitions/policy", json={"winners": 3})
    track = "elderly_care"
    entrants = [p["worker"] for p in state["passed"] if p["worker"]["tracks"][0] == track][:8]
    if len(entrants) < 3:
        return
    competition = await staff.json(
        "POST",
        "/api/v1/competitions",
        json={
            "title": f"{date.today().year}年肇庆市养老护理职业技能竞赛",
            "track": track,
            "held_on": (date.today() - timedelta(days=3)).isoformat(),
            "rounds": 1,
        },
    )
    session.count("competitions")
    path = f"/api/v1/competitions/{competition['id']}"
    for k, worker in enumerate(entrants):
        entry = await staff.json("POST", f"{path}/entries", json={"worker_id": worker["id"]})
        await staff.call(
            "POST",
            f"{path}/scores",
            json={"entry_id": entry["id"], "round": 1, "score": 98 - 3 * k},
        )
    await staff.call("POST", f"{path}/finish")
    session.count("技术能手 awarded", 3)


STEPS = (
    step_accounts,
    step_organisations,
    step_workers,
    step_verify,
    step_courses,
    step_training,
    step_subsidies,
    step_bases,
    step_competition,
)
