"""Officers end an agreement or an agency key, effective at once; every change of an agreement
(made, revoked, agency suspended or reactivated) is published for the services that serve
agencies their data (``registry.agreement.changed``, with the agreement's whole state), every
change of a key (registered, revoked) for those that accept signed imports
(``registry.agency_key.changed``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from contracts.registry import AgencyKeyChanged, AgreementChanged
from devtools.nats import NatsServer
from services.kit.signing import SIGNATURE_HEADER, sign_manifest
from services.kit.tables import outbox
from services.registry.agencies.service import republish_keys
from tests.registry.test_agencies import (
    agency,
    agency_key,
    agreement,
    agreement_body,
    client_token,
    new_client,
)
from tests.registry.test_identity_support import Registry, problem, registry_app
from tests.support.tokens import bearer


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


async def published(
    registry: Registry, agreement_id: str, event_type: str = AgreementChanged.event_type
) -> list[dict[str, Any]]:
    """The aggregate's events of this type in the outbox, in order (their data)."""
    async with registry.ctx.db.read() as session:
        rows = (
            await session.execute(
                select(outbox.c.payload)
                .where(
                    outbox.c.event_type == event_type,
                    outbox.c.aggregate_id == agreement_id,
                )
                .order_by(outbox.c.seq)
            )
        ).all()
    return [json.loads(row.payload)["data"] for row in rows]


async def test_a_revoked_agreement_is_refused_at_once_and_published(registry: Registry) -> None:
    hrss = await agency(registry)
    made = await agreement(
        registry,
        hrss,
        datasets={"workers": ["name", "county"], "certificates": ["kind", "valid_until"]},
    )
    [event] = await published(registry, made["id"])
    assert event["agency_id"] == hrss and event["status"] == "active"
    assert event["datasets"] == {
        "workers": ["name", "county"],
        "certificates": ["kind", "valid_until"],
    }
    assert event["retention_days"] == 365 and event["purpose"] == "就业补贴审核"

    client = await new_client(registry, hrss)
    token = (await client_token(registry, client)).json()
    assert set(token["scope"].split()) == {"feed:workers", "feed:certificates"}
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await registry.client.get("/api/v1/feeds/workers", headers=headers)).status_code == 200

    path = f"/api/v1/agencies/{hrss}/agreements/{made['id']}/revoke"
    # Only officers and admins; the agency itself may not, nor may anyone else.
    problem(await registry.client.post(path, headers=headers), 403)
    problem(await registry.client.post(path, headers=bearer("worker")), 403)
    other = await agency(registry, "commerce")
    problem(
        await registry.client.post(
            f"/api/v1/agencies/{other}/agreements/{made['id']}/revoke", headers=registry.admin
        ),
        404,
    )
    revoked = await registry.client.post(path, headers=bearer("officer"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["in_force"] is False and revoked.json()["revoked_at"] is not None
    # The token still names the scope; the read is refused all the same, and no new token
    # carries it.
    problem(await registry.client.get("/api/v1/feeds/workers", headers=headers), 403)
    assert (await client_token(registry, client)).json()["scope"] == ""
    assert problem(await registry.client.post(path, headers=registry.admin), 409)["type"].endswith(
        "invalid-transition"
    )
    assert [e["status"] for e in await published(registry, made["id"])] == ["active", "revoked"]


async def test_suspending_an_agency_is_published_for_its_agreements(registry: Registry) -> None:
    hrss = await agency(registry)
    kept = await agreement(registry, hrss)
    ended = await agreement(registry, hrss, **agreement_body(hires=["worker_id", "start_date"]))
    assert (
        await registry.client.post(
            f"/api/v1/agencies/{hrss}/agreements/{ended['id']}/revoke", headers=registry.admin
        )
    ).status_code == 200
    for status in ("suspended", "active"):
        changed = await registry.client.post(
            f"/api/v1/agencies/{hrss}/status", json={"status": status}, headers=registry.admin
        )
        assert changed.status_code == 200, changed.text
    assert [e["status"] for e in await published(registry, kept["id"])] == [
        "active",
        "agency_suspended",
        "active",
    ]
    # A revoked agreement stays revoked whatever its agency does (and is not republished).
    assert [e["status"] for e in await published(registry, ended["id"])] == ["active", "revoked"]
    # An agreement made while the agency is suspended grants nothing until it is reactivated.
    await registry.client.post(
        f"/api/v1/agencies/{hrss}/status", json={"status": "suspended"}, headers=registry.admin
    )
    late = await agreement(registry, hrss)
    assert [e["status"] for e in await published(registry, late["id"])] == ["agency_suspended"]


async def test_a_revoked_key_signs_nothing_from_then_on(registry: Registry) -> None:
    civil = await agency(registry, "civil_affairs")
    await agreement(registry, civil, datasets={"target_groups": ["id_number", "target_group"]})
    private, jwk = agency_key(f"civil-{civil[:8]}")
    added = await registry.client.post(
        f"/api/v1/agencies/{civil}/keys", json=jwk, headers=registry.admin
    )
    assert added.status_code == 201, added.text
    # Published with its public JWK, for matching's signed job import.
    (registered,) = await published(registry, civil, AgencyKeyChanged.event_type)
    assert (registered["agency_id"], registered["kid"]) == (civil, jwk["kid"])
    assert registered["status"] == "active"
    assert registered["jwk"] == {k: jwk[k] for k in ("kty", "crv", "x")}
    token = (await client_token(registry, await new_client(registry, civil))).json()
    content = json.dumps({"id_number": "441202199001011234", "target_group": "4050"}).encode()
    jws = sign_manifest(private, jwk["kid"], hashlib.sha256(content).hexdigest(), len(content), {})
    headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "Content-Type": "application/x-ndjson",
        SIGNATURE_HEADER: jws,
    }
    accepted = await registry.client.post(
        "/api/v1/imports/target_groups", content=content, headers=headers
    )
    assert accepted.status_code == 200, accepted.text

    path = f"/api/v1/agencies/{civil}/keys/{jwk['kid']}/revoke"
    problem(
        await registry.client.post(path, headers={"Authorization": headers["Authorization"]}), 403
    )
    problem(
        await registry.client.post(
            f"/api/v1/agencies/{civil}/keys/nope/revoke", headers=registry.admin
        ),
        404,
    )
    revoked = await registry.client.post(path, headers=bearer("officer"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False and revoked.json()["revoked_at"] is not None
    # The same signed file, by the same client: refused from now on (the key is no longer
    # one of the agency's).
    refused = problem(
        await registry.client.post(
            "/api/v1/imports/target_groups", content=content, headers=headers
        ),
        403,
    )
    assert jwk["kid"] in refused["detail"]
    problem(await registry.client.post(path, headers=registry.admin), 409)
    # The revocation is published once (the refused second one publishes nothing).
    events = await published(registry, civil, AgencyKeyChanged.event_type)
    assert [(e["kid"], e["status"]) for e in events] == [
        (jwk["kid"], "active"),
        (jwk["kid"], "revoked"),
    ]
    when = [datetime.fromisoformat(e["changed_at"]) for e in events]
    assert when[1] > when[0]
    # Published again on demand (``audit publish-agency-keys``): the current state.
    async with registry.ctx.db.write() as session:
        assert await republish_keys(session) == 1
    again = await published(registry, civil, AgencyKeyChanged.event_type)
    assert again[:2] == events and again[2] == events[1]
