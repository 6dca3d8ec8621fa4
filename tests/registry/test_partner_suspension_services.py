"""Suspending a partner revokes its clients at once in every service (issue 16), not only at
the registry's token endpoint: credit and matching verify tokens offline, so the registry
publishes the suspension (``registry.partner.status_changed``) and each of them refuses the
partner's unexpired token from the moment it has applied the event; reactivation lets the same
token in again, and another partner is never affected.

Registry, credit and matching run in-process on one real nats-server, each on its own
database (SQLite, and PostgreSQL when JIASAO_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import base64
import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from devtools.nats import NatsServer
from services.credit.access import has_valid_consent
from services.credit.app import create_app as credit_app
from services.kit.errors import Problem
from services.matching.app import create_app as matching_app
from tests.credit.credit_support import consent_changed, worker_registered
from tests.registry.test_agencies import agency, agreement, client_token, new_client
from tests.registry.test_identity_support import Registry, problem, registry_app
from tests.support.apps import context, eventually, running_app, settings_for
from tests.support.databases import service_database
from tests.support.jetstream import JetStreamPeer
from tests.support.tokens import bearer

SCOPES = ["candidates:read", "credit:read", "workers:read"]


@dataclass
class Platform:
    registry: Registry
    credit: httpx.AsyncClient
    matching: httpx.AsyncClient
    peer: JetStreamPeer
    credit_app: FastAPI


@pytest.fixture
async def platform(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        registry = await stack.enter_async_context(registry_app(backend, tmp_path, nats_server.url))
        clients: dict[str, httpx.AsyncClient] = {}
        apps: dict[str, FastAPI] = {}
        for name, factory in (("credit", credit_app), ("matching", matching_app)):
            url = stack.enter_context(service_database(name, backend, tmp_path))
            settings, platform = settings_for(name, url, nats_server.url)
            apps[name] = factory(settings, platform)
            clients[name] = await stack.enter_async_context(running_app(apps[name]))
        peer = await stack.enter_async_context(JetStreamPeer(nats_server.url))
        yield Platform(registry, clients["credit"], clients["matching"], peer, apps["credit"])


async def partner_token(registry: Registry) -> tuple[str, dict[str, str]]:
    """A new partner and a token of one of its clients: (partner id, Authorization header)."""
    partner_id = str(await registry.partner())
    created = await registry.client.post(
        f"/api/v1/partners/{partner_id}/clients",
        json={"name": "招聘平台", "scopes": SCOPES},
        headers=registry.admin,
    )
    assert created.status_code == 201, created.text
    client = created.json()
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    issued = await registry.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert issued.status_code == 200, issued.text
    return partner_id, {"Authorization": f"Bearer {issued.json()['access_token']}"}


async def set_status(registry: Registry, partner_id: str, to: str) -> None:
    changed = await registry.client.post(
        f"/api/v1/partners/{partner_id}/status", json={"to": to}, headers=bearer("officer")
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == to


async def consented_worker(platform: Platform, *partner_ids: str) -> uuid.UUID:
    """A worker credit knows, who consented to each partner reading their credit data."""
    worker_id = uuid.uuid4()
    await platform.peer.publish(worker_registered(worker_id))
    for partner_id in partner_ids:
        await platform.peer.publish(consent_changed(worker_id, partner_id))

    async def readable() -> bool:
        async with context(platform.credit_app).db.read() as session:
            for partner_id in partner_ids:
                if not await has_valid_consent(session, worker_id, partner_id):
                    return False
        return True

    await eventually(readable)
    return worker_id


def reads(platform: Platform, worker_id: uuid.UUID) -> dict[str, tuple[httpx.AsyncClient, str]]:
    """One partner read per service: candidates on matching, certificates on credit, workers
    on the registry."""
    return {
        "matching": (platform.matching, "/api/v1/candidates?track=elderly_care"),
        "credit": (platform.credit, f"/api/v1/workers/{worker_id}/certificates"),
        "registry": (platform.registry.client, "/api/v1/workers"),
    }


async def statuses(
    platform: Platform, worker_id: uuid.UUID, headers: dict[str, str]
) -> dict[str, int]:
    answers = {}
    for service, (client, path) in reads(platform, worker_id).items():
        answers[service] = (await client.get(path, headers=headers)).status_code
    return answers


async def test_a_suspended_partners_unexpired_token_is_refused_everywhere_until_reactivated(
    platform: Platform,
) -> None:
    partner_id, token = await partner_token(platform.registry)
    other_id, other_token = await partner_token(platform.registry)
    worker_id = await consented_worker(platform, partner_id, other_id)
    everywhere_ok = {"matching": 200, "credit": 200, "registry": 200}
    # The tokens work (and are now remembered by each service's verifier).
    assert await statuses(platform, worker_id, token) == everywhere_ok
    assert await statuses(platform, worker_id, other_token) == everywhere_ok

    await set_status(platform.registry, partner_id, "suspended")
    # The registry refuses it in the response's wake (its table changed in that transaction).
    refused = problem(
        await platform.registry.client.get("/api/v1/workers", headers=token), 401, "unauthorized"
    )
    assert "suspended" in refused["detail"]

    async def refused_everywhere() -> dict[str, int] | None:
        now = await statuses(platform, worker_id, token)
        return now if set(now.values()) == {401} else None

    # Credit and matching refuse the same, unexpired token once they applied the event.
    await eventually(refused_everywhere)
    for service, (client, path) in reads(platform, worker_id).items():
        response = await client.get(path, headers=token)
        body = problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), service
        assert "suspended" in body["detail"], service
    # The other partner is not affected.
    assert await statuses(platform, worker_id, other_token) == everywhere_ok

    await set_status(platform.registry, partner_id, "active")

    async def back_everywhere() -> dict[str, int] | None:
        now = await statuses(platform, worker_id, token)
        return now if now == everywhere_ok else None

    await eventually(back_everywhere)
    assert await statuses(platform, worker_id, other_token) == everywhere_ok


async def test_suspending_another_partner_leaves_a_partner_alone(platform: Platform) -> None:
    partner_id, token = await partner_token(platform.registry)
    other_id, other_token = await partner_token(platform.registry)
    worker_id = await consented_worker(platform, partner_id, other_id)
    await set_status(platform.registry, other_id, "suspended")

    async def other_refused() -> bool:
        now = await statuses(platform, worker_id, other_token)
        return set(now.values()) == {401}

    await eventually(other_refused)
    assert await statuses(platform, worker_id, token) == {
        "matching": 200,
        "credit": 200,
        "registry": 200,
    }


async def test_a_suspended_agencys_unexpired_token_is_refused_until_reactivated(
    platform: Platform,
) -> None:
    """Agencies too: the feeds would stop through the agreements' own events (403), but the
    token itself is refused (401) by the registry at once and by credit once it applied
    ``registry.agency.status_changed``; another agency reads on."""
    registry = platform.registry
    datasets = {"workers": ["name", "county"], "certificates": ["kind", "worker_id"]}
    hrss, commerce = await agency(registry), await agency(registry, "commerce")
    tokens: dict[str, dict[str, str]] = {}
    for agency_id in (hrss, commerce):
        await agreement(registry, agency_id, datasets=datasets)
        issued = await client_token(registry, await new_client(registry, agency_id))
        assert issued.status_code == 200, issued.text
        tokens[agency_id] = {"Authorization": f"Bearer {issued.json()['access_token']}"}

    async def feeds(agency_id: str) -> dict[str, int]:
        headers = tokens[agency_id]
        return {
            "registry": (
                await registry.client.get("/api/v1/feeds/workers", headers=headers)
            ).status_code,
            "credit": (
                await platform.credit.get("/api/v1/feeds/certificates", headers=headers)
            ).status_code,
        }

    served = {"registry": 200, "credit": 200}

    async def both_served() -> bool:
        return await feeds(hrss) == served and await feeds(commerce) == served

    await eventually(both_served)  # credit serves once it applied the agreements
    suspended = await registry.client.post(
        f"/api/v1/agencies/{hrss}/status", json={"status": "suspended"}, headers=registry.admin
    )
    assert suspended.status_code == 200, suspended.text
    assert (await feeds(hrss))["registry"] == 401

    async def refused() -> bool:
        return await feeds(hrss) == {"registry": 401, "credit": 401}

    await eventually(refused)
    problem(await platform.credit.get("/api/v1/feeds/certificates", headers=tokens[hrss]), 401)
    assert await feeds(commerce) == served

    reactivated = await registry.client.post(
        f"/api/v1/agencies/{hrss}/status", json={"status": "active"}, headers=registry.admin
    )
    assert reactivated.status_code == 200, reactivated.text

    async def back() -> bool:
        return await feeds(hrss) == served

    await eventually(back)


async def test_training_and_rating_follow_the_suspension_too(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> None:
    """The other two services that accept partner tokens consume the same events: their
    verifiers refuse the token while the partner is suspended, and accept it after."""
    async with AsyncExitStack() as stack:
        registry = await stack.enter_async_context(registry_app(backend, tmp_path, nats_server.url))
        apps: dict[str, FastAPI] = {}
        for name, module in (
            ("training", "services.training.app"),
            ("rating", "services.rating.app"),
        ):
            factory = importlib.import_module(module).create_app
            url = stack.enter_context(service_database(name, backend, tmp_path))
            settings, platform = settings_for(name, url, nats_server.url)
            apps[name] = factory(settings, platform)
            await stack.enter_async_context(running_app(apps[name]))
        partner_id, headers = await partner_token(registry)
        token = headers["Authorization"].removeprefix("Bearer ")
        for app in apps.values():
            assert str((await app.state.token_verifier.verify(token)).party_id) == partner_id

        async def verdicts() -> set[int]:
            found: set[int] = set()
            for app in apps.values():
                try:
                    await app.state.token_verifier.verify(token)
                    found.add(200)
                except Problem as refused:
                    found.add(refused.status)
            return found

        await set_status(registry, partner_id, "suspended")

        async def refused() -> bool:
            return await verdicts() == {401}

        await eventually(refused)
        await set_status(registry, partner_id, "active")

        async def accepted() -> bool:
            return await verdicts() == {200}

        await eventually(accepted)
