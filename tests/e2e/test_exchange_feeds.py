"""Issue 14 across processes, through the gateway: the feeds credit and matching serve.

An officer records an agreement naming some fields of certificates and hires; the registry
publishes it, credit and matching learn it from NATS, and the agency's token reads both feeds
through the gateway, each page signed with the key the gateway publishes at
``/.well-known/exchange-jwks.json`` and holding only the agreed fields. An agency without the
agreement is refused; once the officer revokes the agreement, both services refuse the same
token.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from devtools.run import Platform
from services.kit.signing import SIGNATURE_HEADER, public_keys_from_jwks, verify
from tests.e2e.test_chain import poll, token_headers
from tests.e2e.test_exchange import _agency, _token, ok

pytestmark = pytest.mark.e2e

FIELDS = {"certificates": ["kind", "worker_id"], "hires": ["track", "start_date"]}


def test_credit_and_matching_feeds_follow_the_agreement(platform: Platform) -> None:
    gateway = platform.gateway_url
    with httpx.Client(
        base_url=gateway, timeout=15, headers=token_headers(platform, "admin")
    ) as api:
        agency_id, client = _agency(api, "hrss", **FIELDS)
        _, stranger_client = _agency(api, "commerce")
        [agreement] = ok(api.get(f"/api/v1/agencies/{agency_id}/agreements"))
        keys = public_keys_from_jwks(ok(api.get("/.well-known/exchange-jwks.json")))

        token = _token(gateway, client)
        assert set(token["scope"].split()) == {"feed:certificates", "feed:hires"}
        agency = {"Authorization": f"Bearer {token['access_token']}"}
        for dataset, fields in FIELDS.items():

            def served(dataset: str = dataset) -> httpx.Response | None:
                response = httpx.get(f"{gateway}/api/v1/feeds/{dataset}", headers=agency)
                return response if response.status_code == 200 else None

            # Served once the owning service has applied the registry's agreement event.
            response: httpx.Response = poll(served)
            page: dict[str, Any] = response.json()
            assert page["dataset"] == dataset and page["fields"] == sorted(fields)
            assert all(set(e["record"]) <= set(fields) for e in page["entries"])
            manifest = verify(
                response.headers[SIGNATURE_HEADER],
                keys,
                content_sha256=hashlib.sha256(response.content).hexdigest(),
            )
            assert manifest["aud"] == agency_id and manifest["dataset"] == dataset

        stranger = {"Authorization": f"Bearer {_token(gateway, stranger_client)['access_token']}"}
        for dataset in FIELDS:
            refused = httpx.get(f"{gateway}/api/v1/feeds/{dataset}", headers=stranger)
            assert refused.status_code == 403, refused.text

        ok(
            api.post(
                f"/api/v1/agencies/{agency_id}/agreements/{agreement['id']}/revoke",
                headers=token_headers(platform, "officer"),
            )
        )
        for dataset in FIELDS:

            def refused_now(dataset: str = dataset) -> bool:
                response = httpx.get(f"{gateway}/api/v1/feeds/{dataset}", headers=agency)
                return response.status_code == 403

            poll(refused_now)
