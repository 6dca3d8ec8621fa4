"""The public employment service platforms and matching (issue 14, last bullet), on one
matching app with a real database and NATS: a platform pulls open jobs and the available
certified workers who consented to it, signed and audited; it imports its jobs, signed by one
of its registered keys, deduplicated by its own job id; without the agreement's scope it gets
403, without a valid signature by an active key of its own 401 or 403."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from services.kit import audit_chain
from services.kit.signing import (
    SIGNATURE_HEADER,
    SignatureError,
    public_keys_from_jwks,
    sha256_hex,
    verify,
)
from services.matching.recruitment import api_exchange
from services.registry.agencies.datasets import (
    AGENCY_SCOPES,
    IMPORT_DATASETS,
    PULL_DATASETS,
    scope_of,
)
from tests.matching.matching_support import (
    MatchingHarness,
    at,
    certificate_issued,
    consent_granted,
    worker_registered,
)
from tests.support.agency_feeds import PROBLEM, agreement_applied, agreement_changed
from tests.support.agency_keys import AgencyKey, agency_key, signed_json
from tests.support.apps import context
from tests.support.tokens import bearer

PULL = ("feed:jobs", "feed:available-workers")
IMPORT_PATH = "/api/v1/exchange/jobs"


async def _import(
    client: httpx.AsyncClient, key: AgencyKey, payload: Any, headers: dict[str, str]
) -> httpx.Response:
    """POST a batch of jobs signed with ``key`` (as the agency sends it)."""
    content, signed = signed_json(key, payload, headers)
    return await client.post(IMPORT_PATH, content=content, headers=signed)


def _job(external_id: str | None, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "title": "住家保姆",
        "track": "housekeeping",
        "city": "zhaoqing",
        "district": "duanzhou",
        "schedule": "Mon-Sat 8:00-18:00",
        "pay_min": 5000,
        "pay_max": 6500,
        "start_date": "2026-12-20",
    }
    if external_id is not None:
        row["external_id"] = external_id
    row.update(overrides)
    return row


def _verified(m: MatchingHarness, response: httpx.Response, agency: uuid.UUID) -> dict[str, Any]:
    """The manifest of the response's signature, checked with the published JWKS form."""
    keys = public_keys_from_jwks(context(m.app).extras["exchange_signer"].jwks())
    manifest = verify(
        response.headers[SIGNATURE_HEADER],
        keys,
        content_sha256=sha256_hex(response.content),
        size=len(response.content),
    )
    assert manifest["aud"] == str(agency)
    return manifest


def test_catalogue_names_these_datasets_and_scopes() -> None:
    """The registry's catalogue grants exactly the scopes these routes ask for, with the
    fields these routes send (an agreement can name them)."""
    assert PULL_DATASETS["jobs"] == api_exchange.JOB_FIELDS
    assert PULL_DATASETS["available-workers"] == api_exchange.WORKER_FIELDS
    assert IMPORT_DATASETS["jobs-import"] == ("external_id", *api_exchange.JOB_FIELDS, "status")
    assert [scope_of(d) for d in ("jobs", "available-workers", "jobs-import")] == [
        "feed:jobs",
        "feed:available-workers",
        "import:jobs",
    ]
    assert {"feed:jobs", "feed:available-workers", "import:jobs"} <= set(AGENCY_SCOPES)


async def test_employment_platform_pulls_and_imports(matching: MatchingHarness) -> None:
    client = matching.client
    platform, other = uuid.uuid4(), uuid.uuid4()
    agency = bearer("agency", platform, scopes=[*PULL, "import:jobs"])
    # Their agreements, as the registry publishes them (matching checks them at every call).
    everything = {name: list(fields) for name, fields in PULL_DATASETS.items()}
    jobs_import = {"jobs-import": list(IMPORT_DATASETS["jobs-import"])}
    for party, datasets in (
        (platform, {**everything, **jobs_import}),
        (other, {"jobs": everything["jobs"], **jobs_import}),
    ):
        made = agreement_changed(party, datasets)
        await matching.publish(made)
        await agreement_applied(matching.app, made)
    # Their signing keys, as the registry publishes them.
    platform_key, other_key = agency_key(platform), agency_key(other)
    await matching.send(platform_key.changed(), other_key.changed())

    # Without the agreement's scopes: 403, for pulls and imports alike; nor may a partner.
    bare = bearer("agency", other, scopes=["feed:workers"])
    for path in ("/api/v1/exchange/jobs", "/api/v1/exchange/available-workers"):
        assert (await client.get(path, headers=bare)).status_code == 403
        assert (await client.get(path, headers=bearer("worker", uuid.uuid4()))).status_code == 403
    refused = await _import(client, other_key, {"jobs": [_job("X-1")]}, bare)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    partner = bearer("partner", uuid.uuid4(), scopes=["import:jobs", "feed:jobs"])
    assert (await client.get("/api/v1/exchange/jobs", headers=partner)).status_code == 403

    # Our own jobs: one open, one closed.
    employer = bearer("employer", uuid.uuid4())
    open_job = await client.post("/api/v1/jobs", json=_job(None, title="钟点工"), headers=employer)
    closed_job = await client.post("/api/v1/jobs", json=_job(None), headers=employer)
    assert open_job.status_code == closed_job.status_code == 201
    closing = await client.post(
        f"/api/v1/jobs/{closed_job.json()['id']}/status",
        json={"status": "closed"},
        headers=employer,
    )
    assert closing.status_code == 200, closing.text

    # Import: a good row, a bad row (reported, not 500), a row without the platform's id.
    batch = [
        _job("GD-2026-001"),
        _job("GD-2026-002", pay_min=9000, pay_max=100),
        _job(None),
        "not a job",
    ]
    first = await _import(client, platform_key, {"jobs": batch}, agency)
    assert first.status_code == 200, first.text
    _verified(matching, first, platform)
    report = first.json()
    assert (report["created"], report["updated"], report["unchanged"], report["errors"]) == (
        1,
        0,
        0,
        3,
    )
    assert [r["outcome"] for r in report["rows"]] == ["created", "error", "error", "error"]
    imported_id = report["rows"][0]["job_id"]
    # Twice: created once.
    again = await _import(client, platform_key, {"jobs": batch[:1]}, agency)
    assert again.json()["rows"][0] == {**report["rows"][0], "outcome": "unchanged"}
    # Changed: updated in place.
    changed = await _import(
        client, platform_key, {"jobs": [_job("GD-2026-001", pay_max=7000)]}, agency
    )
    assert changed.json()["rows"][0]["outcome"] == "updated"
    assert changed.json()["rows"][0]["job_id"] == imported_id
    stored = await client.get(f"/api/v1/jobs/{imported_id}", headers=bearer("officer"))
    assert stored.status_code == 200, stored.text
    assert stored.json()["pay_max"] == 7000
    assert (stored.json()["poster_role"], stored.json()["agency_id"]) == ("agency", str(platform))
    assert stored.json()["external_id"] == "GD-2026-001"
    # Another platform's same external id is its own job.
    other_agency = bearer("agency", other, scopes=["import:jobs", "feed:jobs"])
    theirs = await _import(client, other_key, {"jobs": batch[:1]}, other_agency)
    assert theirs.json()["rows"][0]["outcome"] == "created"
    assert theirs.json()["rows"][0]["job_id"] != imported_id
    # A body that is not a batch: 4xx problem, never 500.
    for bad in ({"jobs": []}, {"rows": []}, [1, 2]):
        answer = await _import(client, platform_key, bad, agency)
        assert 400 <= answer.status_code < 500, answer.text

    # Pull jobs: open ones only, not the platform's own imports, signed.
    pulled = await client.get("/api/v1/exchange/jobs", headers=agency)
    assert pulled.status_code == 200, pulled.text
    manifest = _verified(matching, pulled, platform)
    page = pulled.json()
    ids = {item["id"] for item in page["items"]}
    assert ids == {open_job.json()["id"], theirs.json()["rows"][0]["job_id"]}
    assert manifest["dataset"] == "jobs" and manifest["count"] == 2
    assert set(page["items"][0]) == {"id", "updated_at", *api_exchange.JOB_FIELDS}
    # One byte changed: the signature no longer covers it.
    tampered = pulled.content.replace("钟点工".encode(), "钟点土".encode())
    keys = public_keys_from_jwks(context(matching.app).extras["exchange_signer"].jwks())
    try:
        verify(pulled.headers[SIGNATURE_HEADER], keys, content_sha256=sha256_hex(tampered))
    except SignatureError:
        pass
    else:
        raise AssertionError("a changed page still verified")
    # Paging: one at a time reaches the same jobs.
    first_page = (await client.get("/api/v1/exchange/jobs?limit=1", headers=agency)).json()
    second = await client.get(
        "/api/v1/exchange/jobs",
        params={"limit": 1, "after": first_page["next_after"]},
        headers=agency,
    )
    assert {first_page["items"][0]["id"], second.json()["items"][0]["id"]} == ids

    # The platform's job filled there: off the board; a closed one cannot come back.
    filled = await _import(
        client,
        other_key,
        {"jobs": [_job("GD-2026-001", pay_max=7000, status="filled")]},
        other_agency,
    )
    assert filled.json()["rows"][0]["outcome"] == "updated"
    closed = await _import(
        client,
        other_key,
        {"jobs": [_job("GD-2026-001", pay_max=7000, status="closed")]},
        other_agency,
    )
    assert closed.json()["rows"][0]["outcome"] == "updated"
    reopened = await _import(
        client,
        other_key,
        {"jobs": [_job("GD-2026-001", status="open"), _job("GD-9", status="gone")]},
        other_agency,
    )
    assert [row["outcome"] for row in reopened.json()["rows"]] == ["error", "error"]
    board = (await client.get("/api/v1/exchange/jobs", headers=agency)).json()["items"]
    assert [item["id"] for item in board] == [open_job.json()["id"]]

    # Workers: certified and consenting to this platform only.
    shared, no_consent, uncertified, elsewhere = (uuid.uuid4() for _ in range(4))
    events: list[Any] = []
    for worker in (shared, no_consent, uncertified, elsewhere):
        events.append(worker_registered(worker))
    for worker in (shared, no_consent, elsewhere):
        events.append(certificate_issued(worker))
    events.append(consent_granted(shared, platform, scope="employment_platforms"))
    events.append(consent_granted(uncertified, platform, scope="employment_platforms"))
    events.append(consent_granted(elsewhere, other, scope="employment_platforms"))
    events.append(consent_granted(no_consent, platform))  # credit_data: another consent
    await matching.send(*events)
    workers = await client.get("/api/v1/exchange/available-workers", headers=agency)
    assert workers.status_code == 200, workers.text
    _verified(matching, workers, platform)
    items = workers.json()["items"]
    assert [item["worker_id"] for item in items] == [str(shared)]
    assert items[0]["tracks"] == ["housekeeping"] and len(items[0]["certificates"]) == 1
    # Consent withdrawn: no longer shared.
    withdrawn = consent_granted(
        shared, platform, scope="employment_platforms", granted=False, changed_at=at(30)
    )
    withdrawn = withdrawn.model_copy(
        update={"consent_id": events[7].consent_id}  # the same consent, withdrawn
    )
    await matching.send(withdrawn)
    after = await client.get("/api/v1/exchange/available-workers", headers=agency)
    assert after.json()["items"] == []

    # Every exchange is on matching's audit chain, which verifies end to end.
    verdict = await audit_chain.verify(context(matching.app).db)
    assert verdict.ok, verdict
    # The worker sees which platform received their record, and the entry that records it.
    reads_path = f"/api/v1/candidates/{shared}/agency-reads"
    reads = await client.get(reads_path, headers=bearer("worker", shared))
    assert reads.status_code == 200, reads.text
    assert [(r["agency_id"], r["dataset"]) for r in reads.json()] == [
        (str(platform), "available-workers")
    ]
    assert reads.json()[0]["fields"] == list(api_exchange.WORKER_FIELDS)
    assert len(reads.json()[0]["audit_hash"]) == 64
    assert (await client.get(reads_path, headers=bearer("worker", elsewhere))).status_code == 404
    assert (await client.get(reads_path, headers=agency)).status_code == 403
    unseen = await client.get(f"/api/v1/candidates/{no_consent}/agency-reads")
    assert unseen.status_code == 401
    officer_view = await client.get(
        f"/api/v1/candidates/{no_consent}/agency-reads", headers=bearer("officer")
    )
    assert officer_view.json() == []
    # 3 imports + 4 by the other platform + 4 job pages + 2 worker pages; refusals: none.
    assert verdict.entries == 13


async def test_pulls_follow_the_agreement_in_force(matching: MatchingHarness) -> None:
    """Matching checks its read model of the agreements at every call: only the fields named,
    and nothing once the agreement is revoked or has expired, whatever the token carries."""
    client = matching.client
    platform = uuid.uuid4()
    agency = bearer("agency", platform, scopes=[*PULL, "import:jobs"])
    employer = bearer("employer", uuid.uuid4())
    posted = await client.post("/api/v1/jobs", json=_job(None), headers=employer)
    assert posted.status_code == 201, posted.text
    # The scopes but no agreement: 403 for pulls and imports.
    for path in ("/api/v1/exchange/jobs", "/api/v1/exchange/available-workers"):
        assert (await client.get(path, headers=agency)).status_code == 403
    key = agency_key(platform)
    await matching.send(key.changed())
    refused = await _import(client, key, {"jobs": [_job("A")]}, agency)
    assert refused.status_code == 403
    made = agreement_changed(platform, {"jobs": ["title", "pay_min"]})
    await matching.publish(made)
    await agreement_applied(matching.app, made)
    pulled = await client.get("/api/v1/exchange/jobs", headers=agency)
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["fields"] == ["title", "pay_min"]
    assert [set(item) for item in pulled.json()["items"]] == [
        {"id", "updated_at", "title", "pay_min"}
    ]
    # Not named: available workers and imports stay refused.
    assert (
        await client.get("/api/v1/exchange/available-workers", headers=agency)
    ).status_code == 403
    revoked = made.model_copy(
        update={"status": "revoked", "changed_at": made.changed_at + timedelta(seconds=1)}
    )
    await matching.publish(revoked)
    await agreement_applied(matching.app, revoked)
    assert (await client.get("/api/v1/exchange/jobs", headers=agency)).status_code == 403
    expired = agreement_changed(
        platform,
        {"jobs": ["title"]},
        valid_until=made.changed_at - timedelta(seconds=1),
        valid_from=made.changed_at - timedelta(days=10),
    )
    await matching.publish(expired)
    await agreement_applied(matching.app, expired)
    assert (await client.get("/api/v1/exchange/jobs", headers=agency)).status_code == 403


async def test_job_import_needs_a_signature_by_the_agencys_key(matching: MatchingHarness) -> None:
    """Matching accepts a platform's jobs only signed by an active key the agency registered
    (its read model of ``registry.agency_key.changed``): unsigned, for other bytes, by an
    unknown key, by another agency's key or by a revoked one, nothing is stored or audited."""
    client = matching.client
    platform, other = uuid.uuid4(), uuid.uuid4()
    agency = bearer("agency", platform, scopes=["import:jobs"])
    made = agreement_changed(platform, {"jobs-import": list(IMPORT_DATASETS["jobs-import"])})
    await matching.publish(made)
    await agreement_applied(matching.app, made)
    own, theirs, unknown = agency_key(platform), agency_key(other), agency_key(platform)
    await matching.send(own.changed(), theirs.changed())
    payload = {"jobs": [_job("S-1"), _job("S-2", pay_min=9000, pay_max=100)]}
    content, signed = signed_json(own, payload, agency)

    def refused(response: httpx.Response, status: int, slug: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["type"].endswith(slug)

    # Unsigned: 401 invalid-signature, saying how to sign.
    unsigned = {k: v for k, v in signed.items() if k != SIGNATURE_HEADER}
    answer = await client.post(IMPORT_PATH, content=content, headers=unsigned)
    refused(answer, 401, "invalid-signature")
    assert SIGNATURE_HEADER in answer.headers["www-authenticate"]
    # Not a JWS; one byte changed after signing; a key nobody registered: 401.
    bad = {**signed, SIGNATURE_HEADER: "not.a.jws"}
    refused(await client.post(IMPORT_PATH, content=content, headers=bad), 401, "invalid-signature")
    changed = content.replace(b"S-1", b"S-7")
    assert len(changed) == len(content)
    refused(
        await client.post(IMPORT_PATH, content=changed, headers=signed), 401, "invalid-signature"
    )
    _, by_unknown = signed_json(unknown, payload, agency)
    refused(
        await client.post(IMPORT_PATH, content=content, headers=by_unknown),
        401,
        "invalid-signature",
    )
    # Another agency's key: 403.
    _, by_other = signed_json(theirs, payload, agency)
    refused(await client.post(IMPORT_PATH, content=content, headers=by_other), 403, "forbidden")
    database = context(matching.app).db
    assert (await audit_chain.verify(database)).entries == 0

    # Signed by its own key: the per-row report, signed, and the import audited with the key.
    done = await client.post(IMPORT_PATH, content=content, headers=signed)
    assert done.status_code == 200, done.text
    _verified(matching, done, platform)
    assert [r["outcome"] for r in done.json()["rows"]] == ["created", "error"]
    async with database.read() as session:
        bodies = (await session.scalars(select(audit_chain.audit_log.c.body))).all()
    (entry,) = [json.loads(body) for body in bodies]
    assert (entry["action"], entry["dataset"]) == ("import", "jobs")
    assert entry["party_id"] == str(platform)
    assert entry["detail"]["kid"] == own.kid
    assert entry["detail"]["signature_sha256"] == sha256_hex(signed[SIGNATURE_HEADER].encode())
    assert entry["content_sha256"] == sha256_hex(content)

    # Revoked at the registry: the same signed body is refused (403), nothing more audited.
    await matching.send(own.changed("revoked", later=1))
    refused(await client.post(IMPORT_PATH, content=content, headers=signed), 403, "forbidden")
    verdict = await audit_chain.verify(database)
    assert verdict.ok and verdict.entries == 1, verdict
