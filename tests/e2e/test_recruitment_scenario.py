"""Issue 10's scenario across processes, all through the gateway over HTTP: registry, credit,
matching and rating each in their own process, events over the platform's nats-server.

A Shenzhen partner platform registers a webhook endpoint (a real HTTP server in this test)
and posts jobs in bulk, one for a registered employer household. It gets ranked candidates
with their reasons; a suspended worker and a black-listed one drop out of the results within
one event hop. A worker applies, is offered the job and accepts; the engagement starts and
finishes. The partner's endpoint receives every change, each signed as Standard Webhooks
describes; it checks the signatures itself and refuses a tampered message. The employer's
review is refused before the engagement finished and accepted after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from devtools.run import Platform
from services.kit.idnumbers import make_id_card
from tests.e2e.test_chain import token_headers
from tests.e2e.test_credit_scenario import ok, partner_headers, poll
from tests.registry.test_parties_support import employer_body, new_phone, partner_body

pytestmark = pytest.mark.e2e


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """A partner's check, written from the Standard Webhooks specification (not the service's
    code): v1 = base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}"))."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, part.removeprefix("v1,"))
        for part in headers.get("webhook-signature", "").split()
        if part.startswith("v1,")
    )


class Receiver(ThreadingHTTPServer):
    """The partner's endpoint: 204 for a correctly signed message, 401 for anything else."""

    secret = ""
    accepted: list[tuple[dict[str, str], bytes]]
    refused: list[bytes]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        good = bool(self.server.secret) and signature_ok(self.server.secret, headers, body)
        (self.server.accepted.append((headers, body)) if good else self.server.refused.append(body))
        self.send_response(204 if good else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.accepted, server.refused = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def worker_body(name: str, seq: int, born: int, today: date) -> dict[str, Any]:
    checked = {"date": (today - timedelta(days=10)).isoformat()}
    until = (today + timedelta(days=355)).isoformat()
    return {
        "name": name,
        "id_card_number": make_id_card("441283", date(born, 3, 9), f"{seq:03d}"),
        "phone": new_phone(),
        "county": "gaoyao",
        "tracks": ["housekeeping"],
        "health_check": {**checked, "institution": "肇庆市第一人民医院", "valid_until": until},
        "no_criminal_record": {**checked, "result": "clear", "valid_until": until},
    }


def job_row(external_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "title": "住家保姆 南山区",
        "track": "housekeeping",
        "city": "shenzhen",
        "district": "nanshan",
        "schedule": "Mon-Sat",
        "pay_min": 6000,
        "pay_max": 8000,
        "start_date": date.today().isoformat(),
        **overrides,
    }


def test_partner_recruits_hires_and_the_employer_reviews(
    platform: Platform, receiver: Receiver
) -> None:
    today = date.today()
    officer = token_headers(platform, "officer")
    with httpx.Client(base_url=platform.gateway_url, timeout=10, headers=officer) as api:
        partner = uuid.UUID(
            ok(api.post("/api/v1/partners", json=partner_body(city="shenzhen")), 201)["id"]
        )
        household = ok(api.post("/api/v1/employers", json=employer_body(city="shenzhen")), 201)
        employer = token_headers(platform, "employer", household["id"])
        writer = partner_headers(
            platform,
            partner,
            ["jobs:read", "jobs:write", "candidates:read", "applications:write"],
        )
        seq = uuid.uuid4().int % 800 + 100
        workers: dict[str, str] = {}
        for offset, name in enumerate(("陈小红", "李秀英", "张桂芳")):
            created = api.post(
                "/api/v1/workers", json=worker_body(name, seq + offset, 1980 + offset, today)
            )
            workers[name] = ok(created, 201)["id"]
        hired, suspended, listed = workers.values()
        expires = (datetime.now(UTC) + timedelta(days=90)).isoformat()
        for worker_id in workers.values():
            consent = {"scope": "credit_data", "recipient": str(partner), "expires_at": expires}
            me = token_headers(platform, "worker", worker_id)
            ok(api.post(f"/api/v1/workers/{worker_id}/consents", json=consent, headers=me), 201)
        ok(api.post(f"/api/v1/workers/{suspended}/verify"))
        opened = api.post("/api/v1/assessments/years", json={"year": today.year})
        assert opened.status_code in (201, 409), opened.text  # 409: another test opened it

        # The endpoint first: its secret is shown once, and the receiver checks with it.
        hook = ok(
            api.post(
                "/api/v1/webhooks",
                json={"url": f"http://127.0.0.1:{receiver.server_port}/hooks"},
                headers=writer,
            ),
            201,
        )
        receiver.secret = hook["secret"]

        # Bulk upload with a per-row report; one row names the household it recruits for.
        rows = [
            job_row("SZ-1001", employer_id=household["id"]),
            job_row("SZ-1002", title="钟点工 福田区", district="futian", live_in=True),
            job_row("SZ-1003", pay_min=9000, pay_max=100),
        ]
        report = ok(api.post("/api/v1/jobs/bulk", json={"jobs": rows}, headers=writer))
        assert (report["created"], report["errors"]) == (2, 1)
        assert report["rows"][2]["outcome"] == "error"
        job_id = report["rows"][0]["job_id"]
        job = ok(api.get(f"/api/v1/jobs/{job_id}", headers=writer))
        assert (job["partner_id"], job["employer_id"]) == (str(partner), household["id"])

        # The worker who prefers Shenzhen ranks first; every result says why.
        prefer = {"preferred_cities": ["shenzhen"]}
        me = token_headers(platform, "worker", hired)

        def preferences_set() -> Any:
            response = api.put(f"/api/v1/candidates/{hired}/preferences", json=prefer, headers=me)
            return response.status_code == 200 or None  # 404 until registration arrives

        poll(preferences_set)

        def ranked(expected: set[str]) -> Any:
            found = ok(api.get(f"/api/v1/jobs/{job_id}/matches", headers=writer))["items"]
            return found if {item["worker_id"] for item in found} == expected else None

        items = poll(lambda: ranked(set(workers.values())))
        assert items[0]["worker_id"] == hired
        for item in items:
            assert item["score"] == pytest.approx(sum(r["points"] for r in item["reasons"]))
        place = [r for r in items[0]["reasons"] if r["factor"] == "place"]
        assert [r["detail"] for r in place] == ["prefers work in shenzhen"]
        assert items[0]["score"] > items[1]["score"]

        # One event hop: the suspension (registry) and the black list (credit) drop them.
        ok(
            api.post(
                f"/api/v1/workers/{suspended}/status", json={"to": "suspended", "reason": "投诉"}
            )
        )
        poll(lambda: ranked({hired, listed}))

        def credit_file_exists() -> Any:
            return api.get(f"/api/v1/credit-files/worker/{listed}").status_code == 200 or None

        poll(credit_file_exists)
        listing = {
            "list_kind": "black",
            "legal_basis": "《家政服务业信用体系建设指导意见》",
            "reason": "Serious misconduct",
        }
        ok(api.post(f"/api/v1/credit-files/worker/{listed}/list-entries", json=listing), 201)
        assert [item["worker_id"] for item in poll(lambda: ranked({hired}))] == [hired]

        # Apply, offer, accept: an engagement for the household.
        applied = ok(api.post(f"/api/v1/jobs/{job_id}/applications", json={}, headers=me), 201)
        application = f"/api/v1/applications/{applied['id']}/actions"
        offer = {"start_date": today.isoformat(), "pay": 7500, "terms": "3 months"}
        ok(api.post(application, json={"action": "offer", "offer": offer}, headers=writer))
        accepted = ok(api.post(application, json={"action": "accept"}, headers=me))
        assert accepted["status"] == "hired"
        engagement_id = accepted["engagement_id"]
        engagement = f"/api/v1/engagements/{engagement_id}"
        assert ok(api.get(engagement, headers=writer))["employer_id"] == household["id"]

        # Before the engagement finished, the employer's review is refused.
        criteria = dict.fromkeys(
            ("skill", "punctuality", "attitude", "safety", "communication"), 90
        )
        review = {"worker_id": hired, "engagement_id": engagement_id, "criteria": criteria}

        def refused_early() -> Any:
            response = api.post("/api/v1/ratings", json=review, headers=employer)
            if response.status_code == 422 and "unknown-worker" in response.text:
                return None  # the registration has not reached rating yet
            return response

        early = poll(refused_early)
        assert early.status_code == 403 and "no-finished-engagement" in early.json()["type"]
        ok(api.post(f"{engagement}/start", json={}, headers=writer))
        ok(api.post(f"{engagement}/finish", json={"end_date": today.isoformat()}, headers=writer))

        # Now it is taken (once matching's event reached rating); never by someone else.
        stranger = token_headers(platform, "employer", str(uuid.uuid4()))

        def reviewed() -> Any:
            response = api.post("/api/v1/ratings", json=review, headers=employer)
            if response.status_code == 403 and "no-finished-engagement" in response.text:
                return None
            return ok(response, 201)

        poll(reviewed)
        late_stranger = api.post("/api/v1/ratings", json=review, headers=stranger)
        assert late_stranger.status_code == 403

        # Signed deliveries: every application step and both engagement events, all accepted
        # by the receiver's own check; the delivery log says delivered.
        def delivered() -> Any:
            kinds = [orjson.loads(body)["type"] for _, body in receiver.accepted]
            done = "engagement.finished" in kinds and kinds.count("application.changed") == 3
            return kinds if done else None

        kinds = poll(delivered)
        assert kinds.count("engagement.started") == 1
        assert receiver.refused == []
        datas = [orjson.loads(body)["data"] for _, body in receiver.accepted]
        assert {d["partner_job_id"] for d in datas} == {"SZ-1001"}
        assert {d["worker_id"] for d in datas} == {hired}

        def logged() -> Any:
            log = ok(api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=writer))
            statuses = [entry["status"] for entry in log["items"]]
            return statuses if len(statuses) == 5 and set(statuses) == {"delivered"} else None

        poll(logged)

        # A tampered message (same headers, another body) is refused by the receiver.
        headers, body = receiver.accepted[0]
        tampered = body.replace(hired.encode(), suspended.encode())
        assert tampered != body
        sent = {k: v for k, v in headers.items() if k.startswith("webhook-")}
        url = f"http://127.0.0.1:{receiver.server_port}/hooks"
        assert httpx.post(url, content=tampered, headers=sent).status_code == 401
        assert httpx.post(url, content=body, headers=sent).status_code == 204
        assert receiver.refused == [tampered]
