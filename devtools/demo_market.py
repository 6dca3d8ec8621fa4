"""The recruitment-market steps of ``make demo`` (after devtools/demo_steps.py's registry and
training steps): employers and partner platforms, jobs, fairs, hires and reviews, complaints and
the brand. Same contract: each takes the session and the shared ``state``, calls only the
gateway's public API, and counts what it created."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from devtools.demo_client import Actor, DemoError, Session, State, eventually, officer, pick, small
from devtools.demo_data import (
    CASES,
    COUNTIES,
    COUNTY_NAMES,
    COUNTY_SLOGANS,
    TRACK_NAMES,
    TRACKS,
    png,
    text,
)

EMPLOYERS = (
    ("广州陈先生家", "guangzhou", "天河区"),
    ("广州林女士家", "guangzhou", "越秀区"),
    ("深圳李女士家", "shenzhen", "南山区"),
    ("深圳王先生家", "shenzhen", "福田区"),
    ("肇庆梁先生家", "zhaoqing", "端州区"),
    ("香港何太家", "hong_kong", "沙田区"),
)


async def step_employers(session: Session, state: State) -> None:
    """Employer households of Guangzhou, Shenzhen, Zhaoqing and Hong Kong with accounts, and a
    Guangzhou recruitment platform with an OAuth client."""
    known = {e["name"]: e for e in await session.admin.pages("/api/v1/employers")}
    employers: list[Actor] = []
    for k, (name, city, district) in enumerate(EMPLOYERS):
        if small(state) and k not in (0, 2):  # Guangzhou and Shenzhen
            continue
        if name not in known:
            known[name] = await session.admin.json(
                "POST",
                "/api/v1/employers",
                json={"name": name, "phone": f"1880000000{k}", "city": city, "district": district},
            )
            session.count("employers")
        actor = await session.account(name, f"1880000000{k}", "employer", known[name]["id"])
        actor.city = city  # type: ignore[attr-defined]
        employers.append(actor)
    state["employers"] = employers
    partners = {p["name"]: p for p in await session.admin.pages("/api/v1/partners")}
    name = "粤港家政招聘平台"
    if name not in partners:
        partners[name] = await session.admin.json(
            "POST",
            "/api/v1/partners",
            json={
                "name": name,
                "city": "guangzhou",
                "kind": "recruitment_platform",
                "contact": {"name": "平台客服", "phone": "18900000001"},
            },
        )
        session.count("partners")
    client = await session.admin.json(
        "POST",
        f"/api/v1/partners/{partners[name]['id']}/clients",
        json={"name": f"demo-{int(asyncio.get_running_loop().time())}", "scopes": ["jobs:write"]},
    )
    token = await session.public().json(
        "POST",
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    state["partner"] = Actor(session.http, name, token=token["access_token"])


def _job(title: str, track: str, city: str, k: int, district: str | None = None) -> dict[str, Any]:
    pay = 5000 + 500 * (k % 8)
    return {
        "title": title,
        "track": track,
        "city": city,
        "district": district,
        "live_in": k % 2 == 0,
        "schedule": "住家，月休4天" if k % 2 == 0 else "白班 8:00-17:00",
        "pay_min": pay,
        "pay_max": pay + 1500,
        "languages": ["cantonese"] if city in ("guangzhou", "hong_kong") else ["mandarin"],
        "positions": 1 + k % 2,
        "start_date": (date.today() + timedelta(days=k % 10)).isoformat(),
    }


async def step_jobs(session: Session, state: State) -> None:
    """Jobs of the employers, of two companies and (in bulk) of the partner platform."""
    jobs: list[tuple[dict[str, Any], Actor]] = []
    for k, employer in enumerate(state["employers"]):
        for j in range(3):
            track = TRACKS[(k + j) % 4]
            city = employer.city  # type: ignore[attr-defined]
            body = _job(f"{TRACK_NAMES[track]}·{employer.name}", track, city, k + j)
            jobs.append((await employer.json("POST", "/api/v1/jobs", json=body), employer))
            session.count("jobs (employers)")
    for k, staff in enumerate(state["company_staff"]):
        body = _job(f"家政员（{staff.name}）", TRACKS[k], "zhaoqing", k)
        jobs.append((await staff.json("POST", "/api/v1/jobs", json=body), staff))
        session.count("jobs (companies)")
    bulk = [
        {
            **_job(
                f"{TRACK_NAMES[TRACKS[i % 4]]}（{'广州' if i % 2 else '深圳'}）",
                TRACKS[i % 4],
                "guangzhou" if i % 2 else "shenzhen",
                i,
            ),
            "external_id": f"demo-{i:04d}",
        }
        for i in range(24)
    ]
    report = await state["partner"].json("POST", "/api/v1/jobs/bulk", json={"jobs": bulk})
    session.count(
        "jobs (partner bulk)",
        sum(
            1
            for r in report.get("results", report.get("rows", []))
            if r.get("outcome") == "created"
        ),
    )
    state["jobs"] = jobs


FAIR_PLACES = {"guangzhou": "广州", "shenzhen": "深圳", "zhaoqing": "肇庆"}


async def step_fairs(session: Session, state: State) -> None:
    """Job fairs in Guangzhou, Shenzhen and Zhaoqing with the employers' jobs brought to them."""
    fairs = []
    for k, (city, association) in enumerate(
        (
            ("guangzhou", "广州市家庭服务业协会"),
            ("shenzhen", "深圳市家政行业协会"),
            ("zhaoqing", None),
        )
    ):
        fair = await officer(state, k).json(
            "POST",
            "/api/v1/fairs",
            json={
                "title": f"肇庆家嫂专场招聘会（{FAIR_PLACES[city]}）",
                "city": city,
                "association": association,
                "fair_date": date.today().isoformat(),
                "venue": "会展中心",
            },
        )
        fairs.append(fair)
        session.count("fairs")
    for job, poster in state["jobs"]:
        city = job["city"]
        fair = next((f for f in fairs if f["city"] == city), None)
        if fair is not None and poster.name != "partner":
            response = await poster.call(
                "POST",
                f"/api/v1/fairs/{fair['id']}/jobs",
                json={"job_id": job["id"]},
                ok=(200, 201, 409),
            )
            job["fair_id"] = fair["id"] if response.status_code in (200, 201) else None
    state["fairs"] = fairs


async def step_hires(session: Session, state: State) -> None:
    """Worker accounts apply (some at a fair); the posters offer, the workers accept, the
    engagements start, most finish and are reviewed by the employer."""
    today = date.today()
    await officer(state, 0).call(
        "POST", "/api/v1/assessments/years", json={"year": today.year}, ok=(201, 409)
    )
    count = 2 if small(state) else min(max(state["workers"] // 300, 6), 10)
    passed = [p["worker"] for p in state["passed"]][:count]
    jobs = state["jobs"]
    engagements: list[tuple[Actor, Actor, dict[str, Any]]] = []

    async def hire(pair: tuple[int, dict[str, Any]]) -> None:
        k, worker = pair
        phone = f"136{pick(worker['id'], 10**8):08d}"
        me = await session.account(worker["name"], phone, "worker", worker["id"])
        worker = {**worker, "id": me.party_id}  # an earlier run's account: its own worker
        job, poster = jobs[k % len(jobs)]
        fair_id = job.get("fair_id") if k % 3 == 0 else None
        if fair_id:
            await me.call("POST", f"/api/v1/fairs/{fair_id}/signups", ok=(200, 201))
            await officer(state, k).call(
                "POST",
                f"/api/v1/fairs/{fair_id}/checkins",
                json={"worker_id": worker["id"]},
                ok=(200, 201, 409),
            )
            session.count("fair sign-ups")

        async def apply() -> Any:
            response = await me.call(
                "POST",
                f"/api/v1/jobs/{job['id']}/applications",
                json={"fair_id": fair_id} if fair_id else {},
                ok=(201, 404, 409, 422),
            )
            if response.status_code == 201:
                return response.json()
            if response.status_code == 409 and "already" in response.text:
                return {"skip": True}
            return None  # matching has not learnt of the worker yet

        application = await eventually(apply, "matching to learn of the workers")
        if application.get("skip"):
            return
        session.count("applications")
        if k % 2 == 0:  # a second application, left for the poster to answer
            other, _ = jobs[(k + 7) % len(jobs)]
            extra = await me.call(
                "POST", f"/api/v1/jobs/{other['id']}/applications", json={}, ok=(201, 409)
            )
            session.count("applications", extra.status_code == 201)
        actions = f"/api/v1/applications/{application['id']}/actions"
        if k % 6 == 5:
            await poster.call("POST", actions, json={"action": "reject", "note": "岗位已满"})
            return
        if k % 6 == 4:
            return  # still waiting for the poster
        offer = {"start_date": today.isoformat(), "pay": job["pay_min"], "terms": "试用一个月"}
        await poster.call("POST", actions, json={"action": "offer", "offer": offer})
        accepted = await me.json("POST", actions, json={"action": "accept"})
        session.count("hires")
        engagement = f"/api/v1/engagements/{accepted['engagement_id']}"
        await poster.call("POST", f"{engagement}/start", json={})
        if k % 4 == 3:
            return  # still active
        await poster.call("POST", f"{engagement}/finish", json={"end_date": today.isoformat()})
        session.count("engagements finished")
        engagements.append(
            (poster, me, {"id": accepted["engagement_id"], "worker_id": worker["id"]})
        )

    await session.each(list(enumerate(passed)), hire)
    state["engagements"] = engagements

    async def review(triple: tuple[Actor, Actor, dict[str, Any]]) -> None:
        poster, _, engagement = triple
        base = 72 + pick(engagement["id"], 26)
        criteria = {
            name: min(100, base + pick(engagement["id"] + name, 6))
            for name in ("skill", "punctuality", "attitude", "safety", "communication")
        }

        async def rate() -> bool:
            response = await poster.call(
                "POST",
                "/api/v1/ratings",
                json={
                    "worker_id": engagement["worker_id"],
                    "engagement_id": engagement["id"],
                    "criteria": criteria,
                },
                ok=(201, 403, 409),
            )
            if response.status_code == 403 and "no-finished-engagement" in response.text:
                return False  # the finish has not reached rating yet
            if response.status_code == 403:
                raise DemoError(f"review refused: {response.text[:300]}")
            return True

        await eventually(rate, "rating to learn of the finished engagements")
        session.count("employer reviews")

    await session.each([e for e in engagements if e[0].name != "partner"], review)


async def step_complaints(session: Session, state: State) -> None:
    """Complaints of employers against workers they engaged: assigned, some decided."""
    for k, (poster, _, engagement) in enumerate(state["engagements"][::3]):
        complaint = await poster.json(
            "POST",
            "/api/v1/credit-complaints",
            json={
                "target_kind": "worker",
                "target_id": engagement["worker_id"],
                "category": "service_quality",
                "description": "服务过程中多次迟到，沟通后未改善。",
            },
        )
        session.count("complaints")
        staff = officer(state, k)
        if k % 3 == 2:
            continue  # open, unassigned
        await staff.call(
            "POST",
            f"/api/v1/credit-complaints/{complaint['id']}/assign",
            json={"assignee": staff.account_id},
        )
        if k % 3 == 1:
            continue  # under investigation
        outcome = "rejected" if k % 2 else "upheld"
        decision: dict[str, Any] = {
            "outcome": outcome,
            "reason": "经调查核实" if outcome == "upheld" else "证据不足",
        }
        if outcome == "upheld":
            decision |= {"record_kind": "complaint_upheld", "severity": 1}
        await staff.call(
            "POST", f"/api/v1/credit-complaints/{complaint['id']}/decision", json=decision
        )
        session.count(f"complaints {outcome}")


async def step_brand(session: Session, state: State) -> None:
    """The brand's public face: county brands, this year's 百户十强, typical cases and model
    workers with photos (one left as a draft), and nominations (one accepted)."""
    staff = officer(state, 0)
    for county in COUNTIES:
        zh_cn, zh_hk, en = COUNTY_NAMES[county]
        await staff.call(
            "PUT",
            f"/api/v1/brand/counties/{county}",
            json={
                "name": text(f"{zh_cn}家嫂", f"{zh_hk}家嫂", f"{en} Jiasao"),
                "slogan": text(COUNTY_SLOGANS[county]),
                "description": text(f"{zh_cn}家政服务子品牌，纳入肇庆家嫂品牌矩阵。"),
            },
        )
    session.count("county brands", len(COUNTIES))
    top = [
        {
            "rank": rank,
            "name": text(company["name"]),
            "county": company["county"],
            "company_id": company["id"],
            "citation": text("服务规范、口碑良好、带动就业成效突出。"),
        }
        for rank, company in enumerate(state["companies"][:10], start=1)
    ]
    await staff.call(
        "PUT", f"/api/v1/brand/top-companies/{date.today().year}", json={"companies": top}
    )
    session.count("百户十强 companies", len(top))
    for k, (kind, county, title, body, colour) in enumerate(CASES):
        case = await staff.json(
            "POST",
            "/api/v1/brand/cases",
            json={
                "kind": kind,
                "title": title,
                "body": body,
                "county": county,
                "source": ("competition", "open_call", "company_recommendation")[k % 3],
            },
        )
        await staff.call(
            "PUT",
            f"/api/v1/brand/cases/{case['id']}/photo",
            content=png(320, 200, colour),
            headers={"Content-Type": "image/png"},
        )
        session.count("brand cases with photos")
        if k < len(CASES) - 1:
            await staff.call("POST", f"/api/v1/brand/cases/{case['id']}/publish")
            session.count("brand cases published")
    nominations = []
    company_staff = state["company_staff"][0]
    own = [w for w in state["all_workers"] if w.get("company_id") == company_staff.party_id]
    if own:
        nominations.append(
            await company_staff.json(
                "POST",
                "/api/v1/brand/nominations",
                json={
                    "kind": "model_worker",
                    "title": text(f"推荐{own[0]['name']}为人物典范"),
                    "body": text("服务客户满意率百分之百。"),
                    "county": own[0]["county"],
                    "worker_id": own[0]["id"],
                },
            )
        )
    for poster, _, engagement in state["engagements"][:2]:
        if poster.name in (e.name for e in state["employers"]):
            nominations.append(
                await poster.json(
                    "POST",
                    "/api/v1/brand/nominations",
                    json={
                        "kind": "model_worker",
                        "title": text("我家的好阿姨"),
                        "body": text("照顾老人细致耐心，全家都很满意。"),
                        "county": "duanzhou",
                        "worker_id": engagement["worker_id"],
                    },
                )
            )
    session.count("nominations", len(nominations))
    if nominations:
        await staff.call("POST", f"/api/v1/brand/nominations/{nominations[0]['id']}/accept")
        session.count("nominations accepted")


STEPS = (step_employers, step_jobs, step_fairs, step_hires, step_complaints, step_brand)
