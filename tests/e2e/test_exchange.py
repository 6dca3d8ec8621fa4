"""Issue 14's scenario across processes, through the gateway: inter-agency exchange.

The HR bureau, under a data-sharing agreement naming some fields of workers, pulls the workers
feed from zero, then only what changed after a registration and a correction (projected to
its fields, each page signed by the platform). The commerce bureau, with no agreement, is
refused (403). Civil affairs sends a signed list of poverty-alleviation targets: the worker is
updated (the HR bureau's feed shows the correction), an unsigned copy is refused, and the
exchange is audited; the worker sees the HR bureau among the agencies that read their record.
The verification command accepts the audit chain and a signed export, and detects a single
modified byte in the exported file and in an audit entry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devtools.run import Platform
from services.kit.signing import (
    SIGNATURE_HEADER,
    SignatureError,
    public_keys_from_jwks,
    sign_manifest,
    verify,
)
from tests.e2e.test_chain import token_headers
from tests.registry.test_parties_support import new_credit_code, worker_body

pytestmark = pytest.mark.e2e


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _agency(api: httpx.Client, kind: str, **datasets: list[str]) -> tuple[str, dict[str, str]]:
    """An agency (with an agreement naming ``datasets`` if any) and its client's credentials."""
    agency_id = ok(
        api.post(
            "/api/v1/agencies",
            json={
                "kind": kind,
                "level": "city",
                "name": f"肇庆市{kind}局",
                "credit_code": new_credit_code(),
            },
        ),
        201,
    )["id"]
    if datasets:
        now = datetime.now(UTC)
        ok(
            api.post(
                f"/api/v1/agencies/{agency_id}/agreements",
                json={
                    "reference": f"肇数共〔2026〕{uuid.uuid4().int % 100}号",
                    "legal_basis": "《广东省公共数据管理办法》第二十条",
                    "purpose": "家政从业人员就业服务",
                    "datasets": datasets,
                    "retention_days": 365,
                    "valid_from": (now - timedelta(minutes=5)).isoformat(),
                    "valid_until": (now + timedelta(days=365)).isoformat(),
                },
            ),
            201,
        )
    client = ok(api.post(f"/api/v1/agencies/{agency_id}/clients", json={"name": "交换"}), 201)
    return agency_id, client


def _token(gateway: str, client: dict[str, str]) -> dict[str, Any]:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    response = httpx.post(
        f"{gateway}/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    return ok(response)  # type: ignore[no-any-return]


def _pull(agency: httpx.Client, after: int) -> tuple[list[dict[str, Any]], int, httpx.Response]:
    """Every entry after the cursor, page by page; (entries, new cursor, first page)."""
    entries: list[dict[str, Any]] = []
    first: httpx.Response | None = None
    while True:
        response = agency.get("/api/v1/feeds/workers", params={"after": after, "limit": 200})
        page = ok(response)
        assert response.headers[SIGNATURE_HEADER].count(".") == 2
        first = first or response
        entries += page["entries"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return entries, after, first


def _cli_all(platform: Platform, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run ``python -m services.registry audit <command>`` for each command, side by side."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "services.registry", "audit", *args],
            env=platform.child_env("registry"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    done = []
    for proc, args in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def test_agencies_exchange_signed_audited_data(platform: Platform, tmp_path: Path) -> None:
    gateway = platform.gateway_url
    admin = token_headers(platform, "admin")
    with httpx.Client(base_url=gateway, timeout=15, headers=admin) as api:
        hrss_id, hrss_client = _agency(
            api, "hrss", workers=["name", "county", "status", "target_groups"]
        )
        _, commerce_client = _agency(api, "commerce")
        civil_id, civil_client = _agency(
            api, "civil_affairs", target_groups=["id_number", "target_group"]
        )
        private = Ed25519PrivateKey.generate()
        x = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))["x"]
        kid = f"civil-{civil_id[:8]}"
        ok(
            api.post(
                f"/api/v1/agencies/{civil_id}/keys",
                json={"kid": kid, "kty": "OKP", "crv": "Ed25519", "x": x},
            ),
            201,
        )

        hrss_token = _token(gateway, hrss_client)
        assert hrss_token["scope"] == "feed:workers"
        hrss = httpx.Client(
            base_url=gateway,
            timeout=15,
            headers={"Authorization": f"Bearer {hrss_token['access_token']}"},
        )
        # From zero: whatever the platform holds; then nothing new.
        _, cursor, first_page = _pull(hrss, 0)
        assert _pull(hrss, cursor)[0] == []

        # A registration and a correction: exactly these two entries, with the agreed fields.
        body = worker_body()
        worker_id = ok(api.post("/api/v1/workers", json=body), 201)["id"]
        etag = api.get(f"/api/v1/workers/{worker_id}").headers["etag"]
        ok(
            api.patch(
                f"/api/v1/workers/{worker_id}",
                json={"county": "deqing"},
                headers={"If-Match": etag},
            )
        )
        changes, cursor, _ = _pull(hrss, cursor)
        assert [(e["op"], e["id"]) for e in changes] == [
            ("upsert", worker_id),
            ("correction", worker_id),
        ]
        assert set(changes[0]["record"]) == {"name", "county", "status", "target_groups"}
        assert changes[1]["record"]["county"] == "deqing"
        assert body["id_card_number"][-4:] not in json.dumps(changes)

        # No agreement, no data.
        commerce_token = _token(gateway, commerce_client)
        assert commerce_token["scope"] == ""
        refused = httpx.get(
            f"{gateway}/api/v1/feeds/workers",
            headers={"Authorization": f"Bearer {commerce_token['access_token']}"},
        )
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")

        # Civil affairs' signed list: applied, reported per row, in the HR bureau's feed.
        civil_token = _token(gateway, civil_client)["access_token"]
        lines = [
            {"id_number": body["id_card_number"], "target_group": "poverty_alleviation"},
            {"id_number": "441202199001011234", "target_group": "poverty_alleviation"},
        ]
        content = "\n".join(json.dumps(line) for line in lines).encode()
        signature = sign_manifest(
            private, kid, hashlib.sha256(content).hexdigest(), len(content), {"iss": civil_id}
        )
        upload = {
            "Authorization": f"Bearer {civil_token}",
            "Content-Type": "application/x-ndjson",
        }
        unsigned = httpx.post(
            f"{gateway}/api/v1/imports/target_groups", content=content, headers=upload
        )
        assert unsigned.status_code == 401, unsigned.text
        report = ok(
            httpx.post(
                f"{gateway}/api/v1/imports/target_groups",
                content=content,
                headers={**upload, SIGNATURE_HEADER: signature},
            )
        )
        assert (report["updated"], report["invalid"]) == (1, 1)
        assert report["issues"][0]["line"] == 2
        corrected, cursor, _ = _pull(hrss, cursor)
        assert [(e["op"], e["id"]) for e in corrected] == [("correction", worker_id)]
        assert "poverty_alleviation" in corrected[0]["record"]["target_groups"]

        # The worker sees that the HR bureau received changes of their record.
        reads = ok(
            api.get(
                f"/api/v1/workers/{worker_id}/agency-reads",
                headers=token_headers(platform, "worker", worker_id),
            )
        )
        assert {r["agency_id"] for r in reads} == {hrss_id}

        # Verification: the chain, a feed page and an export; then single modified bytes.
        jwks = tmp_path / "exchange-jwks.json"
        jwks.write_text(api.get("/.well-known/exchange-jwks.json").text)
        page = tmp_path / "feed-page.json"
        page.write_bytes(first_page.content)
        (tmp_path / "feed-page.json.jws").write_text(first_page.headers[SIGNATURE_HEADER])
        export = api.get("/api/v1/exports/workers", params={"format": "jsonl"})
        assert export.status_code == 200, export.text
        exported = tmp_path / "workers.jsonl"
        exported.write_bytes(export.content)
        (tmp_path / "workers.jsonl.jws").write_text(export.headers[SIGNATURE_HEADER])
        hrss.close()

    # The feed page verifies with the published keys, in process; the export and the chain
    # with the command (run side by side: each is a fresh Python process).
    keys = public_keys_from_jwks(json.loads(jwks.read_text()))
    page_jws = (tmp_path / "feed-page.json.jws").read_text()
    verify(page_jws, keys, content_sha256=hashlib.sha256(page.read_bytes()).hexdigest())
    with pytest.raises(SignatureError):
        verify(page_jws, keys, content_sha256=hashlib.sha256(page.read_bytes() + b" ").hexdigest())
    tampered = tmp_path / "workers-tampered.jsonl"
    data = bytearray(exported.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    (tmp_path / "workers-tampered.jsonl.jws").write_text(export.headers[SIGNATURE_HEADER])
    chain, anchored, good, bad = _cli_all(
        platform,
        ["verify"],
        ["verify", "--anchor", str(page), str(exported), "--jwks", str(jwks)],
        *(
            ["verify-file", str(path), "--signature", f"{path}.jws", "--jwks", str(jwks)]
            for path in (exported, tampered)
        ),
    )
    assert chain.returncode == 0, chain.stderr
    # The page and the export each state (signed) the registry's audit entry recording them.
    assert anchored.returncode == 0, anchored.stderr
    assert anchored.stdout.count("ok, registry chain holds entry") == 2, anchored.stdout
    assert good.returncode == 0, good.stderr
    assert bad.returncode == 1 and "INVALID" in bad.stderr, bad.stdout

    database = platform.var_dir / "registry.db"
    with sqlite3.connect(database) as db:
        seq, body_text = db.execute(
            "SELECT seq, body FROM kit_audit_log WHERE action = 'import' ORDER BY seq DESC"
        ).fetchone()
        assert json.loads(body_text)["party_id"] == civil_id
        db.execute(
            "UPDATE kit_audit_log SET body = ? WHERE seq = ?",
            (body_text.replace('"record_count":1', '"record_count":2'), seq),
        )
    try:
        (broken,) = _cli_all(platform, ["verify"])
        assert broken.returncode == 1 and f"entry {seq}" in broken.stderr, broken.stderr
    finally:
        with sqlite3.connect(database) as db:
            db.execute("UPDATE kit_audit_log SET body = ? WHERE seq = ?", (body_text, seq))
