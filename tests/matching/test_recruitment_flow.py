"""The recruitment flow end to end on one matching app (real database, real NATS, a real HTTP
receiver for webhooks): a Shenzhen partner posts jobs in bulk, gets ranked candidates with
reasons, a worker applies, is offered and hired, the engagement starts and finishes (both
events on the MATCHING stream), and the partner's endpoint receives signed deliveries it
verifies. Status and credit-standing changes drop workers from the results in one hop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import pytest
from aiohttp import web
from nats.js import JetStreamContext

from contracts.credit import CardStatusChanged, CreditListEntryAdded, CreditListEntryRemoved
from contracts.envelope import CloudEvent
from contracts.matching import EngagementFinished, EngagementStarted
from services.matching.recruitment.webhooks import new_secret, verify
from tests.matching.matching_support import (
    MatchingHarness,
    at,
    certificate_issued,
    consent_granted,
    rating_changed,
    status_changed,
    worker_registered,
)
from tests.support.apps import eventually
from tests.support.tokens import bearer


@dataclass
class Receiver:
    """A partner's webhook endpoint: fails the first request, then takes everything."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.refused == 0:
            self.refused += 1
            return web.Response(status=503)
        self.received.append(({k.lower(): v for k, v in request.headers.items()}, body))
        return web.Response(status=204)

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield found
    finally:
        await runner.cleanup()


async def stream_events(js: JetStreamContext, subject: str) -> list[CloudEvent[Any]]:
    sub = await js.pull_subscribe(subject, stream="MATCHING")
    try:
        messages = await sub.fetch(10, timeout=1)
    except TimeoutError:
        return []
    finally:
        await sub.unsubscribe()
    return [CloudEvent[Any].model_validate_json(m.data) for m in messages]


def job_row(external_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "external_id": external_id,
        "title": "住家保姆 南山区",
        "track": "housekeeping",
        "duties": ["cooking", "cleaning"],
        "city": "shenzhen",
        "district": "nanshan",
        "live_in": True,
        "schedule": "Mon-Sat",
        "pay_min": 6000,
        "pay_max": 8000,
        "languages": ["cantonese"],
        "start_date": "2027-01-10",
    }
    row.update(overrides)
    return row


async def test_partner_posts_matches_hires_and_gets_signed_webhooks(
    matching: MatchingHarness, receiver: Receiver
) -> None:
    client = matching.client
    partner = uuid.uuid4()
    writer = bearer(
        "partner",
        partner,
        scopes=["jobs:read", "jobs:write", "candidates:read", "applications:write"],
    )
    starry, certified, third, unconsented = (uuid.uuid4() for _ in range(4))
    events = []
    for worker, name in [(starry, "甲"), (certified, "乙"), (third, "丙"), (unconsented, "丁")]:
        events.append(worker_registered(worker, name=name, status="active"))
        if worker != unconsented:
            events.append(consent_granted(worker, partner))
    events += [
        rating_changed(starry, 5),
        rating_changed(certified, 4),
        rating_changed(third, 3),
        rating_changed(unconsented, 5),
        certificate_issued(certified),
        certificate_issued(third),
        certificate_issued(unconsented),
    ]
    await matching.send(*events)

    # The partner registers its endpoint; the secret is shown once.
    hook = await client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=writer)
    assert hook.status_code == 201, hook.text
    secret, hook_id = hook.json()["secret"], hook.json()["id"]
    assert secret.startswith("whsec_")

    # Bulk upload: a per-row report; the partner's own id makes it idempotent.
    rows = [job_row("SZ-1"), job_row("SZ-2", pay_min=9000, pay_max=100)]
    report = await client.post("/api/v1/jobs/bulk", json={"jobs": rows}, headers=writer)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["created"], body["errors"]) == (1, 1)
    assert body["rows"][1]["outcome"] == "error" and body["rows"][1]["external_id"] == "SZ-2"
    job_id = body["rows"][0]["job_id"]
    again = await client.post("/api/v1/jobs/bulk", json={"jobs": rows[:1]}, headers=writer)
    assert again.json()["rows"][0] == {**body["rows"][0], "outcome": "unchanged"}
    changed = await client.post("/api/v1/jobs", json=job_row("SZ-1", pay_max=8500), headers=writer)
    assert (changed.status_code, changed.json()["id"], changed.json()["pay_max"]) == (
        200,
        job_id,
        8500,
    )

    async def matches() -> list[dict[str, Any]]:
        response = await client.get(f"/api/v1/jobs/{job_id}/matches", headers=writer)
        assert response.status_code == 200, response.text
        assert response.json()["policy_version"] == 1
        return response.json()["items"]  # type: ignore[no-any-return]

    ranked = await matches()
    # No consent to this partner: left out. Certified 4- and 3-stars beat an uncertified 5-star.
    assert [i["worker_id"] for i in ranked] == [str(certified), str(third), str(starry)]
    assert [i["score"] for i in ranked] == [57, 51, 48]
    factors = {r["factor"]: r["points"] for r in ranked[0]["reasons"]}
    assert factors["certificate"] == 15 and factors["stars"] == 24 and factors["language"] == 10
    assert ranked[0]["score"] == sum(r["points"] for r in ranked[0]["reasons"])

    # One event hop: a suspension drops the worker; so does the credit black list (hook).
    await matching.send(status_changed(third, "suspended", 30))
    assert str(third) not in [i["worker_id"] for i in await matches()]
    listing = {
        "entry_id": str(uuid.uuid4()),
        "list_kind": "black",
        "party_id": str(starry),
        "party_kind": "worker",
        "basis": "officer",
        "legal_basis": "家政服务条例",
        "starts_at": at(31),
        "publish_until": at(60 * 24 * 365),
        "policy_version": 1,
    }
    await matching.send(CreditListEntryAdded(**listing))
    assert [i["worker_id"] for i in await matches()] == [str(certified)]
    # The entry ends: the worker is back; a red card (credit's card event) drops them again.
    ended = CreditListEntryRemoved(**listing, ended_at=at(32), end_reason="officer")
    await matching.send(ended)
    assert str(starry) in [i["worker_id"] for i in await matches()]
    assert not any(i["guarantee_mark"] for i in await matches())
    # On the red list (诚信红名单) the uncertified 5-star ranks first, with the guarantee mark;
    # when the entry ends they take their own place again.
    red_listing = {**listing, "entry_id": str(uuid.uuid4()), "list_kind": "red"}
    red_listing["starts_at"] = at(32)
    await matching.send(CreditListEntryAdded(**red_listing))
    first, *rest = await matches()
    assert (first["worker_id"], first["guarantee_mark"]) == (str(starry), True)
    assert "red_list" in {r["factor"] for r in first["reasons"]}
    assert first["score"] == sum(r["points"] for r in first["reasons"])
    assert [i["worker_id"] for i in rest] == [str(certified)]
    await matching.send(
        CreditListEntryRemoved(**red_listing, ended_at=at(32), end_reason="period_ended")
    )
    assert [(i["worker_id"], i["guarantee_mark"]) for i in await matches()] == [
        (str(certified), False),
        (str(starry), False),
    ]
    red = CardStatusChanged(
        card_id=str(uuid.uuid4()),
        worker_id=str(starry),
        state="suspended",
        colour="red",
        reason="health check expired",
        valid_until=date(2028, 1, 1),
        changed_at=at(33),
    )
    await matching.send(red)
    assert [i["worker_id"] for i in await matches()] == [str(certified)]

    # The worker applies; the poster shortlists, interviews, offers; the worker accepts.
    worker = bearer("worker", certified)
    applied = await client.post(f"/api/v1/jobs/{job_id}/applications", json={}, headers=worker)
    assert applied.status_code == 201, applied.text
    app_url = f"/api/v1/applications/{applied.json()['id']}"
    duplicate = await client.post(f"/api/v1/jobs/{job_id}/applications", json={}, headers=worker)
    assert duplicate.status_code == 409
    too_early = await client.post(f"{app_url}/actions", json={"action": "accept"}, headers=worker)
    assert too_early.status_code == 409 and too_early.json()["current_status"] == "applied"
    not_theirs = await client.post(
        f"{app_url}/actions", json={"action": "shortlist"}, headers=worker
    )
    assert not_theirs.status_code == 409
    steps: list[tuple[dict[str, str], dict[str, Any]]] = [
        (writer, {"action": "shortlist"}),
        (
            writer,
            {
                "action": "interview",
                "interview": {
                    "at": "2027-01-05T10:00:00+08:00",
                    "online_url": "https://m.example/i",
                },
            },
        ),
        (
            writer,
            {
                "action": "offer",
                "offer": {"start_date": "2027-01-10", "pay": 8000, "terms": "6 months"},
            },
        ),
        (worker, {"action": "accept"}),
    ]
    for who, step in steps:
        moved = await client.post(f"{app_url}/actions", json=step, headers=who)
        assert moved.status_code == 200, moved.text
    hired = moved.json()
    assert hired["status"] == "hired"
    assert [h["to_status"] for h in hired["history"]] == [
        "applied",
        "shortlisted",
        "interviewing",
        "offered",
        "hired",
    ]
    engagement_url = f"/api/v1/engagements/{hired['engagement_id']}"
    job = await client.get(f"/api/v1/jobs/{job_id}", headers=writer)
    assert job.json()["status"] == "filled"
    assert await matches() == []  # hired: not available any more

    # Finishing before starting is a 409; start, then finish: both events on the stream.
    early = await client.post(
        f"{engagement_url}/finish", json={"end_date": "2027-06-30"}, headers=writer
    )
    assert early.status_code == 409
    assert await stream_events(matching.js, EngagementFinished.subject) == []
    started = await client.post(f"{engagement_url}/start", json={}, headers=writer)
    assert started.status_code == 200, started.text
    finished = await client.post(
        f"{engagement_url}/finish", json={"end_date": "2027-06-30"}, headers=writer
    )
    assert finished.status_code == 200, finished.text
    assert [h["to_status"] for h in finished.json()["history"]] == [
        "scheduled",
        "active",
        "finished",
    ]
    again_finish = await client.post(
        f"{engagement_url}/finish", json={"end_date": "2027-06-30"}, headers=writer
    )
    assert again_finish.status_code == 409

    async def both() -> list[CloudEvent[Any]] | None:
        found = await stream_events(matching.js, "matching.engagement.>")
        return found if len(found) == 2 else None

    start_event, finish_event = await eventually(both)
    started_data = EngagementStarted.model_validate(start_event.data)
    finished_data = EngagementFinished.model_validate(finish_event.data)
    assert start_event.type == EngagementStarted.event_type
    assert finished_data.worker_id == started_data.worker_id == str(certified)
    assert finished_data.job_id == job_id and finished_data.track == "housekeeping"
    assert finished_data.end_date == date(2027, 6, 30)
    assert finished_data.employer_id is None and finished_data.company_id is None

    # The partner's endpoint got every change, each signed; the first attempt was refused
    # and retried with the same webhook-id.
    async def delivered() -> bool:
        kinds = [e["type"] for e in receiver.events()]
        return "engagement.finished" in kinds and kinds.count("application.changed") == 5

    await eventually(delivered)
    assert all(verify(secret, headers, body) for headers, body in receiver.received)
    headers0, body0 = receiver.received[0]
    assert not verify(new_secret(), headers0, body0)  # another key
    assert not verify(secret, headers0, body0 + b" ")  # another body
    # Deliveries are not ordered (a retry comes after later messages): each carries its time.
    changes = sorted(
        (e["data"] for e in receiver.events() if e["type"] == "application.changed"),
        key=lambda d: d["changed_at"],
    )
    assert [(c["previous_status"], c["status"]) for c in changes] == [
        (None, "applied"),
        ("applied", "shortlisted"),
        ("shortlisted", "interviewing"),
        ("interviewing", "offered"),
        ("offered", "hired"),
    ]
    assert all(e["data"]["partner_job_id"] == "SZ-1" for e in receiver.events())

    async def logged() -> list[dict[str, Any]] | None:
        # The receiver has a message a moment before the dispatcher records its answer.
        log = await client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=writer)
        assert log.status_code == 200
        items: list[dict[str, Any]] = log.json()["items"]
        return items if {e["status"] for e in items} == {"delivered"} else None

    entries = await eventually(logged)
    assert len(entries) == 7  # 5 application changes, started, finished
    assert sorted(e["attempts"] for e in entries)[-1] == 2

    # Replay: the same message id again.
    first = entries[-1]
    replayed = await client.post(
        f"/api/v1/webhooks/{hook_id}/deliveries/{first['id']}/replay", headers=writer
    )
    assert replayed.status_code == 200, replayed.text

    async def replay_arrived() -> bool:
        ids = [h["webhook-id"] for h, _ in receiver.received]
        return ids.count(first["message_id"]) == 2

    await eventually(replay_arrived)
    other = bearer("partner", uuid.uuid4(), scopes=["jobs:write"])
    assert (
        await client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=other)
    ).status_code == 404

    # Experience counts: the worker is available again, with a finished engagement.
    await asyncio.sleep(0)
    candidate = await client.get(
        f"/api/v1/candidates/{certified}/jobs", headers=bearer("worker", certified)
    )
    assert candidate.status_code == 200, candidate.text
