"""Consent to share credit data: only the worker grants and withdraws; each change an event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.catalog import parse_data
from contracts.registry import ConsentChanged
from tests.registry.test_parties_support import (
    ADMIN,
    OFFICER,
    Registry,
    bearer,
    consent_body,
    error_fields,
    expires_in,
    problem,
)

consent = consent_body


async def test_worker_grants_lists_and_withdraws(registry: Registry) -> None:
    partner = await registry.partner()
    worker = await registry.worker()
    wid = worker["id"]
    me = bearer("worker", wid)
    path = f"/api/v1/workers/{wid}/consents"

    response = await registry.post(path, consent(partner["id"]), me)
    assert response.status_code == 201, response.text
    granted = response.json()
    assert response.headers["location"] == f"{path}/{granted['id']}"
    assert granted["status"] == "active"
    assert granted["recipient"] == partner["id"]
    second = await registry.post(path, consent("广州家政协会"), me)
    assert second.status_code == 201

    listed = await registry.get(path, me)
    assert [c["id"] for c in listed] == [second.json()["id"], granted["id"]]
    assert [c["id"] for c in await registry.get(path, OFFICER)] == [c["id"] for c in listed]
    assert (await registry.get(f"{path}/{granted['id']}", ADMIN))["status"] == "active"

    withdrawn = await registry.post(f"{path}/{granted['id']}/withdraw", None, me)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["withdrawn_at"] is not None
    problem(await registry.post(f"{path}/{granted['id']}/withdraw", None, me), 409)
    # Withdrawn, the same consent may be given again.
    assert (await registry.post(path, consent(partner["id"]), me)).status_code == 201

    events = [parse_data(e) for e in await registry.events("registry.consent.changed")]
    assert all(isinstance(e, ConsentChanged) for e in events)
    # The relay keeps order within one consent (the events' aggregate), not across consents.
    by_consent: dict[str, list[bool]] = {}
    for event in events:
        by_consent.setdefault(event.consent_id, []).append(event.granted)
    again = [c for c in by_consent if c not in (granted["id"], second.json()["id"])]
    assert len(events) == 4 and len(again) == 1
    assert by_consent == {
        granted["id"]: [True, False],
        second.json()["id"]: [True],
        again[0]: [True],
    }
    first = next(e for e in events if e.consent_id == granted["id"])
    assert first.scope == "credit_data"
    assert first.worker_id == wid
    assert first.expires_at is not None


async def test_nobody_but_the_worker_grants_or_withdraws(registry: Registry) -> None:
    company = await registry.company()
    worker = await registry.worker(employment={"company_id": company["id"]})
    wid = worker["id"]
    path = f"/api/v1/workers/{wid}/consents"
    given = await registry.post(path, consent(), bearer("worker", wid))
    cid = given.json()["id"]

    for who in (OFFICER, ADMIN, bearer("company", company["id"]), bearer("employer")):
        problem(await registry.post(path, consent(), who), 403)
        problem(await registry.post(f"{path}/{cid}/withdraw", None, who), 403)
    problem(await registry.post(path, consent(), bearer("partner", scopes=["workers:read"])), 403)
    # Another worker: the record is not theirs to know about.
    stranger = bearer("worker", uuid.uuid4())
    problem(await registry.post(path, consent(), stranger), 404)
    problem(await registry.post(f"{path}/{cid}/withdraw", None, stranger), 404)
    problem(await registry.client.get(path, headers=stranger), 404)
    # Reading: the worker and officers only, not their company.
    problem(await registry.client.get(path, headers=bearer("company", company["id"])), 403)
    problem(await registry.post(path, consent()), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_at": expires_in(-1)}, "expires_at"),
        (
            {"expires_at": (datetime.now(UTC) + timedelta(days=5 * 366 + 2)).isoformat()},
            "expires_at",
        ),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no time zone
        ({"scope": "everything"}, "scope"),
        ({"recipient": ""}, "recipient"),
        ({"recipient": str(uuid.uuid4())}, "recipient"),  # a uuid must be a registered partner
    ],
)
async def test_invalid_consent(registry: Registry, body: dict[str, Any], field: str) -> None:
    worker = await registry.worker()
    response = await registry.post(
        f"/api/v1/workers/{worker['id']}/consents",
        {**consent(), **body},
        bearer("worker", worker["id"]),
    )
    assert error_fields(problem(response, 422)) == [field]


async def test_five_years_is_the_limit(registry: Registry) -> None:
    worker = await registry.worker()
    almost = (datetime.now(UTC) + timedelta(days=5 * 365)).isoformat()
    response = await registry.post(
        f"/api/v1/workers/{worker['id']}/consents",
        {**consent(), "expires_at": almost},
        bearer("worker", worker["id"]),
    )
    assert response.status_code == 201, response.text


async def test_a_second_active_consent_to_the_same_recipient_is_a_conflict(
    registry: Registry,
) -> None:
    worker = await registry.worker()
    me = bearer("worker", worker["id"])
    path = f"/api/v1/workers/{worker['id']}/consents"
    first = await registry.post(path, consent("广州家政协会"), me)
    body = problem(await registry.post(path, consent("广州家政协会"), me), 409, "duplicate-consent")
    assert body["consent_id"] == first.json()["id"]


async def test_unknown_consent_is_404(registry: Registry) -> None:
    worker = await registry.worker()
    other = await registry.worker()
    me = bearer("worker", worker["id"])
    theirs = await registry.post(
        f"/api/v1/workers/{other['id']}/consents", consent(), bearer("worker", other["id"])
    )
    # A consent id under the wrong worker is not found, even for its owner's neighbour.
    response = await registry.post(
        f"/api/v1/workers/{worker['id']}/consents/{theirs.json()['id']}/withdraw", None, me
    )
    problem(response, 404)
