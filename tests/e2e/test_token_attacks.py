"""The attack set against real ports: the gateway and every service refuse each forged,
foreign, stale or malformed token with 401, on protected and operator routes alike."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devtools.run import Platform
from services.kit.auth import SigningKeys
from services.kit.settings import SERVICES, PlatformSettings

pytestmark = pytest.mark.e2e

#: One protected read per service (any signed-in officer may call it).
PROTECTED = {
    "registry": "/api/v1/workers",
    "training": "/api/v1/enrollments",
    "credit": "/api/v1/certificates",
    "rating": "/api/v1/ratings",
    "matching": "/api/v1/candidates?track=maternal_infant",
}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def attack_tokens(platform: Platform) -> dict[str, str | None]:
    """name → Authorization header value (None: no header at all)."""
    settings = PlatformSettings()
    keys = SigningKeys.load(platform.config.var_dir / "secrets" / "jwt_keys.json")
    kid = keys.active_kid
    key = keys.private[kid]
    now = int(time.time())
    good = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(uuid.uuid4()),
        "role": "officer",
        "iat": now,
        "exp": now + 300,
    }

    def signed(claims: dict[str, Any], signer: Any = key, header_kid: str = kid) -> str:
        token = jwt.encode(claims, signer, algorithm="EdDSA", headers={"kid": header_kid})
        return f"Bearer {token}"

    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Signed by hand: PyJWT itself refuses to use a public key as an HMAC secret.
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(good)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    hs_forgery = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    without_exp = {k: v for k, v in good.items() if k != "exp"}
    return {
        "no token": None,
        "basic": "Basic b2ZmaWNlcjpwYXNzd29yZA==",
        "alg none": f"Bearer {_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(good)}.",
        "HS256 with the public key": f"Bearer {hs_forgery}",
        "foreign key, known kid": signed(good, Ed25519PrivateKey.generate()),
        "unknown kid": signed(good, Ed25519PrivateKey.generate(), "not-a-known-kid"),
        "wrong audience": signed(good | {"aud": "someone-else"}),
        "wrong issuer": signed(good | {"iss": "https://evil.example"}),
        "expired": signed(good | {"iat": now - 900, "exp": now - 600}),
        "not yet valid": signed(good | {"nbf": now + 600}),
        "no exp": signed(without_exp),
        "unknown role": signed(good | {"role": "superuser"}),
        "garbage": "Bearer not.a.jwt",
    }


def valid_officer(platform: Platform) -> str:
    settings = PlatformSettings()
    keys = SigningKeys.load(platform.config.var_dir / "secrets" / "jwt_keys.json")
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(uuid.uuid4()),
        "role": "officer",
        "iat": now,
        "exp": now + 300,
    }
    token = jwt.encode(
        claims, keys.private[keys.active_kid], algorithm="EdDSA", headers={"kid": keys.active_kid}
    )
    return f"Bearer {token}"


def targets(platform: Platform) -> list[tuple[str, str]]:
    """(base URL, path): each service's port and the gateway, protected and operator routes."""
    found = []
    for name in SERVICES:
        base = platform.url(name)
        found.append((base, PROTECTED[name]))
        found.append((base, "/internal/dead-letters"))
        found.append((platform.gateway_url, PROTECTED[name]))
    return found


def test_every_attack_is_401_everywhere(platform: Platform) -> None:
    attacks = attack_tokens(platform)
    refused: Callable[[httpx.Response], bool] = lambda r: (  # noqa: E731
        r.status_code == 401
        and r.headers["content-type"].startswith("application/problem+json")
        and r.headers.get("www-authenticate", "").startswith("Bearer")
    )
    failures = []
    checked = 0
    with httpx.Client(timeout=10) as client:
        for base, path in targets(platform):
            for name, authorization in attacks.items():
                headers = {"Authorization": authorization} if authorization else {}
                response = client.get(base + path, headers=headers)
                checked += 1
                if not refused(response):
                    failures.append((name, base + path, response.status_code, response.text[:120]))
            # The control: the same door opens for a valid officer (or refuses with 403).
            ok = client.get(base + path, headers={"Authorization": valid_officer(platform)})
            assert ok.status_code in (200, 403), (base + path, ok.status_code, ok.text)
            if path.startswith("/internal/"):
                assert ok.status_code == 403  # operators only: officers are not admins
    assert failures == [], failures
    assert checked == len(attacks) * 15


def test_public_routes_still_refuse_bad_tokens(platform: Platform) -> None:
    attacks = attack_tokens(platform)
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        assert client.get("/api/v1/courses").status_code == 200
        for name, authorization in attacks.items():
            if authorization is None or authorization.startswith("Basic"):
                continue
            response = client.get("/api/v1/courses", headers={"Authorization": authorization})
            assert response.status_code == 401, (name, response.text)


def test_unserved_method_on_a_public_path_is_405_not_401(platform: Platform) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        for path, allow in (
            ("/api/v1/courses", "GET, HEAD, POST"),
            ("/api/v1/auth/login", "POST"),
            ("/.well-known/jwks.json", "GET, HEAD"),
        ):
            response = client.put(path)
            assert response.status_code == 405, (path, response.text)
            assert response.headers["allow"] == allow
        # A served method that needs a token is still refused at the edge.
        assert client.post("/api/v1/courses", json={}).status_code == 401
