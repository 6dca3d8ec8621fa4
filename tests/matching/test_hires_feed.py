"""Matching's hires change feed for agencies (issue 14), on one matching app with a real
database and NATS: a hire made through the API is an ``upsert`` when the engagement starts and
a ``correction`` when it finishes; an agency reads it only with ``feed:hires`` and an agreement
in force in matching's read model of the registry's agreements, only the agreement's fields,
signed, restartable, audited in matching's chain."""

from __future__ import annotations

import uuid

from services.kit import audit_chain
from services.matching import feeds as matching_feeds
from services.registry.agencies.datasets import PULL_DATASETS, SERVICE_FEED_DATASETS
from tests.matching.matching_support import MatchingHarness, worker_registered
from tests.matching.test_matching_statistics import hire
from tests.matching.test_recruitment_rules import job_body
from tests.support.agency_feeds import (
    agreement_applied,
    agreement_changed,
    feed_page,
    refused,
    verified,
)
from tests.support.apps import context
from tests.support.tokens import bearer

FIELDS = ["start_date", "track", "worker_id"]


def test_catalogue_names_the_hires_feed_with_its_fields() -> None:
    assert SERVICE_FEED_DATASETS["hires"] == matching_feeds.FEEDS["hires"]


async def test_hires_feed(matching: MatchingHarness) -> None:
    client = matching.client
    agency = uuid.uuid4()
    event = agreement_changed(agency, {"hires": FIELDS})
    await matching.publish(event)
    await agreement_applied(matching.app, event)
    token = bearer("agency", agency, scopes=["feed:hires"])

    worker = uuid.uuid4()
    await matching.send(worker_registered(worker, status="active", county="gaoyao"))
    employer = bearer("employer", uuid.uuid4())
    posted = await client.post("/api/v1/jobs", json=job_body(), headers=employer)
    assert posted.status_code == 201, posted.text
    await hire(matching, posted.json()["id"], worker, employer)
    listed = await client.get("/api/v1/engagements", headers=employer)
    [engagement] = listed.json()["items"]
    base = f"/api/v1/engagements/{engagement['id']}"
    started = await client.post(f"{base}/start", json={}, headers=employer)
    assert started.status_code == 200, started.text
    finished = await client.post(
        f"{base}/finish", json={"end_date": "2027-07-31"}, headers=employer
    )
    assert finished.status_code == 200, finished.text

    response, page = await feed_page(client, "hires", token, count=2)
    assert [(e["op"], e["id"]) for e in page["entries"]] == [
        ("upsert", engagement["id"]),
        ("correction", engagement["id"]),
    ]
    assert all(set(e["record"]) == set(FIELDS) for e in page["entries"])
    assert page["entries"][0]["record"]["worker_id"] == str(worker)
    manifest = verified(matching.app, response)
    assert (manifest["aud"], manifest["dataset"], manifest["count"]) == (str(agency), "hires", 2)
    # The worker sees that the agency received their hire, and the audit entry that says so.
    reads = await client.get(
        f"/api/v1/candidates/{worker}/agency-reads", headers=bearer("worker", worker)
    )
    assert reads.status_code == 200, reads.text
    assert {(r["agency_id"], r["dataset"]) for r in reads.json()} == {(str(agency), "hires")}
    assert all(r["fields"] == FIELDS and len(r["audit_hash"]) == 64 for r in reads.json())
    # Restart from zero: the same entries in the same order.
    _, again = await feed_page(client, "hires", token, count=2)
    assert again["entries"] == page["entries"]
    # Officers see every field but never the poster's account.
    _, full = await feed_page(client, "hires", bearer("officer"), count=2)
    assert full["entries"][1]["record"]["end_date"] == "2027-07-31"
    assert all("poster_account_id" not in e["record"] for e in full["entries"])

    # No agreement for the dataset: 403 with the scope; an agreement for other data: 403.
    stranger = bearer("agency", uuid.uuid4(), scopes=["feed:hires"])
    await refused(lambda: client.get("/api/v1/feeds/hires", headers=stranger))
    other = uuid.uuid4()
    elsewhere = agreement_changed(other, {"certificates": ["kind"]})
    await matching.publish(elsewhere)
    await agreement_applied(matching.app, elsewhere)
    other_token = bearer("agency", other, scopes=["feed:hires"])
    await refused(lambda: client.get("/api/v1/feeds/hires", headers=other_token))

    # Revoked: refused at the next read.
    revoked = event.model_copy(
        update={
            "status": "revoked",
            "changed_at": event.changed_at.replace(year=event.changed_at.year + 1),
        }
    )
    await matching.publish(revoked)
    await agreement_applied(matching.app, revoked)
    await refused(lambda: client.get("/api/v1/feeds/hires", headers=token))

    verdict = await audit_chain.verify(context(matching.app).db)
    assert verdict.ok, verdict.reason
    assert verdict.entries >= 3


def test_catalogue_names_the_jobs_feed_with_the_pulled_fields() -> None:
    assert PULL_DATASETS["jobs"] == matching_feeds.FEEDS["jobs"]


async def test_jobs_feed(matching: MatchingHarness) -> None:
    """A job posted is an upsert, paused and reopened corrections, closed a deletion; an
    agency with an agreement for jobs reads only its fields, signed, from zero again."""
    client = matching.client
    agency = uuid.uuid4()
    event = agreement_changed(agency, {"jobs": ["title", "pay_min"]})
    await matching.publish(event)
    await agreement_applied(matching.app, event)
    token = bearer("agency", agency, scopes=["feed:jobs"])
    employer = bearer("employer", uuid.uuid4())
    posted = await client.post("/api/v1/jobs", json=job_body(title="育婴师"), headers=employer)
    assert posted.status_code == 201, posted.text
    job = posted.json()["id"]
    for status in ("paused", "open", "closed"):
        moved = await client.post(
            f"/api/v1/jobs/{job}/status", json={"status": status}, headers=employer
        )
        assert moved.status_code == 200, moved.text

    response, page = await feed_page(client, "jobs", token, count=4)
    assert [(e["op"], e["id"]) for e in page["entries"]] == [
        ("upsert", job),
        ("correction", job),
        ("correction", job),
        ("deletion", job),
    ]
    assert all(e["record"] == {"title": "育婴师", "pay_min": 3000} for e in page["entries"])
    assert verified(matching.app, response)["dataset"] == "jobs"
    _, again = await feed_page(client, "jobs", token, count=4)
    assert again["entries"] == page["entries"]
    stranger = bearer("agency", uuid.uuid4(), scopes=["feed:jobs"])
    await refused(lambda: client.get("/api/v1/feeds/jobs", headers=stranger))
