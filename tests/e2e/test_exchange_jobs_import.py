"""Issue 14 across processes, through the gateway: a platform's signed job import.

An officer records an agreement naming ``jobs-import`` and the agency's Ed25519 key at the
registry; the registry publishes both, matching learns them from NATS and accepts the agency's
batch of jobs only with a valid signature by that key (no call to the registry on the request
path): unsigned or changed after signing, 401; once the officer revokes the key, the same
signed batch is refused (403).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devtools.run import Platform
from services.kit.signing import SIGNATURE_HEADER, sha256_hex, sign_manifest
from services.registry.agencies.datasets import IMPORT_DATASETS
from tests.e2e.test_chain import poll, token_headers
from tests.e2e.test_exchange import _agency, _token, ok

pytestmark = pytest.mark.e2e

PATH = "/api/v1/exchange/jobs"


def _batch() -> bytes:
    job: dict[str, Any] = {
        "external_id": "GD-E2E-1",
        "title": "住家保姆",
        "track": "housekeeping",
        "city": "zhaoqing",
        "district": "duanzhou",
        "schedule": "Mon-Sat 8:00-18:00",
        "pay_min": 5000,
        "pay_max": 6500,
        "start_date": "2026-12-20",
    }
    return json.dumps({"jobs": [job]}, ensure_ascii=False).encode()


def test_matching_accepts_jobs_signed_by_the_agencys_registered_key(platform: Platform) -> None:
    gateway = platform.gateway_url
    with httpx.Client(
        base_url=gateway, timeout=15, headers=token_headers(platform, "admin")
    ) as api:
        agency_id, client = _agency(
            api, "hrss", **{"jobs-import": list(IMPORT_DATASETS["jobs-import"])}
        )
        private = Ed25519PrivateKey.generate()
        x = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))["x"]
        kid = f"hrss-{agency_id[:8]}"
        ok(
            api.post(
                f"/api/v1/agencies/{agency_id}/keys",
                json={"kid": kid, "kty": "OKP", "crv": "Ed25519", "x": x},
            ),
            201,
        )
    token = _token(gateway, client)
    assert token["scope"] == "import:jobs"
    content = _batch()
    jws = sign_manifest(private, kid, sha256_hex(content), len(content), {})
    agency = {
        "Authorization": f"Bearer {token['access_token']}",
        "Content-Type": "application/json",
    }
    signed = {**agency, SIGNATURE_HEADER: jws}

    def post(body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{gateway}{PATH}", content=body, headers=headers, timeout=15)

    # Accepted once matching has applied the registry's agreement and key events.
    done: httpx.Response = poll(lambda: (r := post(content, signed)).status_code == 200 and r)
    assert [row["outcome"] for row in done.json()["rows"]] == ["created"]
    assert done.headers[SIGNATURE_HEADER].count(".") == 2

    unsigned = post(content, agency)
    assert unsigned.status_code == 401, unsigned.text
    assert unsigned.json()["type"].endswith("invalid-signature")
    changed = post(content.replace(b"5000", b"5001"), signed)
    assert changed.status_code == 401, changed.text

    with httpx.Client(
        base_url=gateway, timeout=15, headers=token_headers(platform, "officer")
    ) as officer:
        ok(officer.post(f"/api/v1/agencies/{agency_id}/keys/{kid}/revoke"))
    # Refused once matching has applied the revocation.
    refused: httpx.Response = poll(lambda: (r := post(content, signed)).status_code == 403 and r)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert kid in refused.json()["detail"]
