"""Agencies as parties: registration, agreements, and token scopes that follow the agreements
in force; the workers change feed projected to an agreement's fields, and its signature."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete

from devtools.nats import NatsServer
from services.kit import audit_chain
from services.kit.db import Database
from services.kit.feed import SETTLE_SECONDS, feed_log, read_page
from services.kit.signing import (
    SIGNATURE_HEADER,
    SignatureError,
    public_keys_from_jwks,
    sign_manifest,
    verify,
)
from services.registry.agencies.backfill import backfill
from tests.registry.test_identity_support import Registry, claims_of, problem, registry_app
from tests.registry.test_parties_support import new_credit_code, worker_body
from tests.support.tokens import bearer


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


IMPORT = "/api/v1/imports/target_groups"


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def agency(registry: Registry, kind: str = "hrss") -> str:
    body = {"kind": kind, "level": "city", "name": f"肇庆{kind}", "credit_code": new_credit_code()}
    response = await registry.client.post("/api/v1/agencies", json=body, headers=registry.admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def agreement_body(**datasets: list[str]) -> dict[str, Any]:
    return {
        "reference": "肇人社数共〔2026〕3号",
        "legal_basis": "《广东省政务数据资源共享管理办法》第十二条",
        "purpose": "就业补贴审核",
        "datasets": datasets,
        "retention_days": 365,
        "valid_from": _iso(-timedelta(days=1)),
        "valid_until": _iso(timedelta(days=365)),
    }


async def agreement(registry: Registry, agency_id: str, **overrides: Any) -> dict[str, Any]:
    body = {**agreement_body(workers=["name", "county", "status"]), **overrides}
    response = await registry.client.post(
        f"/api/v1/agencies/{agency_id}/agreements", json=body, headers=registry.admin
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def new_client(registry: Registry, agency_id: str) -> dict[str, Any]:
    created = await registry.client.post(
        f"/api/v1/agencies/{agency_id}/clients", json={"name": "数据交换"}, headers=registry.admin
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def client_token(registry: Registry, client: dict[str, Any], scope: str | None = None) -> Any:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return await registry.client.post(
        "/api/v1/auth/token",
        data=form,
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )


async def test_scopes_are_granted_only_while_an_agreement_is_in_force(registry: Registry) -> None:
    bad = await registry.client.post(
        "/api/v1/agencies",
        json={"kind": "hrss", "level": "city", "name": "x", "credit_code": "91441200MA4UJ9KJ6X"},
        headers=registry.admin,
    )
    problem(bad, 422)
    hrss = await agency(registry)
    wrong_field = await registry.client.post(
        f"/api/v1/agencies/{hrss}/agreements",
        json=agreement_body(workers=["name", "id_number"]),
        headers=registry.admin,
    )
    assert "id_number" in problem(wrong_field, 422)["errors"][0]["message"]

    # No agreement: a token with no scope; asking for one is invalid_scope.
    client = await new_client(registry, hrss)
    empty = await client_token(registry, client)
    assert empty.status_code == 200, empty.text
    assert claims_of(empty.json()["access_token"])["role"] == "agency"
    assert empty.json()["scope"] == ""
    assert (await client_token(registry, client, "feed:workers")).status_code == 400
    # An expired agreement grants nothing either.
    await agreement(
        registry,
        hrss,
        valid_from=_iso(-timedelta(days=30)),
        valid_until=_iso(-timedelta(days=1)),
    )
    assert (await client_token(registry, client)).json()["scope"] == ""
    await agreement(registry, hrss)
    granted = await client_token(registry, client)
    assert granted.json()["scope"] == "feed:workers"
    assert claims_of(granted.json()["access_token"])["pid"] == hrss

    # An agency token opens no party route.
    token = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    problem(await registry.client.get("/api/v1/workers", headers=token), 403)
    # Suspending the agency: no more tokens.
    suspended = await registry.client.post(
        f"/api/v1/agencies/{hrss}/status", json={"status": "suspended"}, headers=registry.admin
    )
    assert suspended.status_code == 200, suspended.text
    assert problem(await client_token(registry, client), 401)["error"] == "invalid_client"


async def _feed(registry: Registry, headers: dict[str, str], after: int = 0) -> Any:
    response = await registry.client.get(f"/api/v1/feeds/workers?after={after}", headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_the_workers_feed_is_projected_signed_and_audited(registry: Registry) -> None:
    hrss = await agency(registry)
    await agreement(registry, hrss)
    token = (await client_token(registry, await new_client(registry, hrss))).json()
    as_hrss = {"Authorization": f"Bearer {token['access_token']}"}
    officer = bearer("officer")
    created = await registry.client.post("/api/v1/workers", json=worker_body(), headers=officer)
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    etag = (await registry.client.get(f"/api/v1/workers/{worker_id}", headers=officer)).headers[
        "etag"
    ]
    patched = await registry.client.patch(
        f"/api/v1/workers/{worker_id}",
        json={"county": "deqing"},
        headers={**officer, "If-Match": etag},
    )
    assert patched.status_code == 200, patched.text

    page = await _feed(registry, as_hrss)
    body = page.json()
    mine = [e for e in body["entries"] if e["id"] == worker_id]
    assert [e["op"] for e in mine] == ["upsert", "correction"]
    # Only the agreement's fields: no masked ID number, no phone, no birth date.
    assert set(mine[0]["record"]) == {"name", "county", "status"}
    assert mine[1]["record"]["county"] == "deqing"
    assert body["fields"] == ["county", "name", "status"]
    # Nothing new after the cursor; a restart from zero gives the same entries.
    later = (await _feed(registry, as_hrss, body["next_cursor"])).json()
    assert later["entries"] == [] and later["next_cursor"] == body["next_cursor"]
    assert (await _feed(registry, as_hrss)).json()["entries"] == body["entries"]

    # The signature verifies with the published keys, and not for a changed byte.
    jwks = (await registry.client.get("/.well-known/exchange-jwks.json")).json()
    keys = public_keys_from_jwks(jwks)
    content = page.content
    manifest = verify(
        page.headers[SIGNATURE_HEADER], keys, content_sha256=hashlib.sha256(content).hexdigest()
    )
    assert manifest["aud"] == hrss and manifest["count"] == len(body["entries"])
    # The agreement's retention is stated in the page and in what the platform signed.
    assert manifest["retention_days"] == body["retention_days"] == 365
    tampered = content.replace(b"deqing", b"deqinG")
    with pytest.raises(SignatureError):
        verify(
            page.headers[SIGNATURE_HEADER],
            keys,
            content_sha256=hashlib.sha256(tampered).hexdigest(),
        )

    # The worker sees the agency's reads; the chain verifies.
    as_worker = bearer("worker", worker_id)
    reads = await registry.client.get(
        f"/api/v1/workers/{worker_id}/agency-reads", headers=as_worker
    )
    assert reads.status_code == 200, reads.text
    assert {r["agency_id"] for r in reads.json()} == {hrss}
    assert reads.json()[0]["fields"] == ["county", "name", "status"]
    database = Database(registry.database_url)
    try:
        verdict = await audit_chain.verify(database)
    finally:
        await database.dispose()
    assert verdict.ok and verdict.entries == 3, verdict

    # Another agency's token without the scope: 403; companies are not in the agreement.
    problem(await registry.client.get("/api/v1/feeds/companies", headers=as_hrss), 403)
    problem(await registry.client.get("/api/v1/feeds/nothing", headers=as_hrss), 404)


def agency_key(kid: str) -> tuple[Any, dict[str, str]]:
    private = Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
    return private, {"kid": kid, "kty": "OKP", "crv": "Ed25519", "x": jwk["x"]}


async def test_signed_import_of_target_group_members(registry: Registry) -> None:
    civil = await agency(registry, "civil_affairs")
    await agreement(registry, civil, datasets={"target_groups": ["id_number", "target_group"]})
    private, jwk = agency_key(f"civil-{civil[:8]}")
    added = await registry.client.post(
        f"/api/v1/agencies/{civil}/keys", json=jwk, headers=registry.admin
    )
    assert added.status_code == 201, added.text
    token = (await client_token(registry, await new_client(registry, civil))).json()
    assert token["scope"] == "import:target_groups"
    headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "Content-Type": "application/x-ndjson",
    }
    body = worker_body()
    created = await registry.client.post("/api/v1/workers", json=body, headers=bearer("officer"))
    assert created.status_code == 201, created.text
    lines = [
        {"id_number": body["id_card_number"], "target_group": "poverty_alleviation"},
        {"id_number": "441202199001011234", "target_group": "poverty_alleviation"},
        {"id_number": body["id_card_number"], "target_group": "nobody"},
    ]
    content = "\n".join(json.dumps(line) for line in lines).encode()
    jws = sign_manifest(private, jwk["kid"], hashlib.sha256(content).hexdigest(), len(content), {})
    # Unsigned, or signed for other bytes: 401 and nothing changes.
    problem(await registry.client.post(IMPORT, content=content, headers=headers), 401)
    problem(
        await registry.client.post(
            IMPORT, content=content + b" ", headers={**headers, SIGNATURE_HEADER: jws}
        ),
        401,
    )
    done = await registry.client.post(
        IMPORT, content=content, headers={**headers, SIGNATURE_HEADER: jws}
    )
    assert done.status_code == 200, done.text
    report = done.json()
    assert (report["total"], report["updated"], report["invalid"]) == (3, 1, 2)
    assert [i["field"] for i in report["issues"]] == ["id_number", "target_group"]
    assert body["id_card_number"] not in done.text
    worker = await registry.client.get(
        f"/api/v1/workers/{created.json()['id']}", headers=bearer("officer")
    )
    assert worker.json()["target_groups"] == [*body["target_groups"], "poverty_alleviation"]


async def test_backfill_puts_earlier_records_into_the_feeds_once(registry: Registry) -> None:
    created = await registry.client.post(
        "/api/v1/workers", json=worker_body(), headers=bearer("officer")
    )
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    database = Database(registry.database_url)
    try:
        # As if registered before the feeds existed.
        async with database.write() as session:
            await session.execute(delete(feed_log).where(feed_log.c.record_id == worker_id))
        first = await backfill(database)
        assert first["workers"] == 1 and (await backfill(database))["workers"] == 0
        # The deleted row left a gap in seq; on PostgreSQL a feed page holds back a young row
        # behind a gap (it may be a transaction still committing) until it settles.
        await asyncio.sleep(SETTLE_SECONDS)
        async with database.read() as session:
            entries, _ = await read_page(session, "workers", 0, 100)
    finally:
        await database.dispose()
    (entry,) = [e for e in entries if e.record_id == worker_id]
    assert (entry.op, entry.event_type) == ("upsert", "backfill")
    assert entry.record["id_card_masked"].startswith("*" * 14)
    assert entry.record["name"] == created.json()["name"]
