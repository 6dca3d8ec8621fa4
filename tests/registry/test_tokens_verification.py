"""The registry refuses every forged, misdirected or stale access token with 401."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devtools.nats import NatsServer
from services.kit.auth import SigningKeys
from tests.registry.test_identity_support import Registry, auth, b64url, problem, registry_app


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url) as app:
        yield app


def _claims(registry: Registry, subject: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": registry.ctx.platform.jwt_issuer,
        "aud": registry.ctx.platform.jwt_audience,
        "sub": subject,
        "role": "worker",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(keys: SigningKeys, claims: dict[str, Any], **headers: Any) -> str:
    kid = keys.active_kid
    return jwt.encode(claims, keys.private[kid], algorithm="EdDSA", headers={"kid": kid, **headers})


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(signature)}"


def _hs256_with_public_key(keys: SigningKeys, claims: dict[str, Any], raw: bool) -> str:
    """The classic confusion: HMAC-sign with the (public) verification key as the secret."""
    public = keys.private[keys.active_kid].public_key()
    secret = (
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if raw
        else public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": keys.active_kid}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


Forger = Callable[[Registry, SigningKeys, str], str]

FORGERIES: dict[str, Forger] = {
    "alg none": lambda r, k, sub: _unsigned({"alg": "none", "typ": "JWT"}, _claims(r, sub)),
    "alg none with kid": lambda r, k, sub: _unsigned(
        {"alg": "none", "kid": k.active_kid}, _claims(r, sub)
    ),
    "alg None spelled oddly": lambda r, k, sub: _unsigned({"alg": "None"}, _claims(r, sub)),
    "HS256 keyed with the PEM public key": lambda r, k, sub: _hs256_with_public_key(
        k, _claims(r, sub), raw=False
    ),
    "HS256 keyed with the raw public key": lambda r, k, sub: _hs256_with_public_key(
        k, _claims(r, sub), raw=True
    ),
    "another Ed25519 key with the same kid": lambda r, k, sub: jwt.encode(
        _claims(r, sub),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": k.active_kid},
    ),
    "unknown kid": lambda r, k, sub: _signed(k, _claims(r, sub), kid="not-a-key"),
    "no kid": lambda r, k, sub: jwt.encode(
        _claims(r, sub), k.private[k.active_kid], algorithm="EdDSA"
    ),
    "wrong audience": lambda r, k, sub: _signed(k, _claims(r, sub, aud="another-platform")),
    "wrong issuer": lambda r, k, sub: _signed(k, _claims(r, sub, iss="https://evil.example")),
    "no audience": lambda r, k, sub: _signed(k, _claims(r, sub, aud=None)),
    "no expiry": lambda r, k, sub: _signed(k, _claims(r, sub, exp=None)),
    "expired beyond the leeway": lambda r, k, sub: _signed(
        k, _claims(r, sub, iat=int(time.time()) - 1000, exp=int(time.time()) - 60)
    ),
    "not valid yet": lambda r, k, sub: _signed(k, _claims(r, sub, nbf=int(time.time()) + 600)),
    "unknown role": lambda r, k, sub: _signed(k, _claims(r, sub, role="superuser")),
    "tampered payload": lambda r, k, sub: _tampered(r, k, sub),
    "garbage": lambda r, k, sub: "not.a.jwt",
    "empty signature": lambda r, k, sub: _signed(k, _claims(r, sub)).rsplit(".", 1)[0] + ".",
}


#: What the refusal must say for some forgeries, proving the intended check caught them.
REASONS = {
    "alg none": "must be signed with EdDSA",
    "HS256 keyed with the PEM public key": "must be signed with EdDSA",
    "HS256 keyed with the raw public key": "must be signed with EdDSA",
    "another Ed25519 key with the same kid": "Signature verification failed",
    "unknown kid": "signing key is not known",
    "wrong audience": "Audience doesn't match",
    "wrong issuer": "Invalid issuer",
    "expired beyond the leeway": "has expired",
    "tampered payload": "Signature verification failed",
}


def _tampered(registry: Registry, keys: SigningKeys, subject: str) -> str:
    """A genuine worker token whose payload was edited to say admin."""
    header, _, signature = _signed(keys, _claims(registry, subject)).split(".")
    payload = b64url(json.dumps(_claims(registry, subject, role="admin")).encode())
    return f"{header}.{payload}.{signature}"


async def test_a_genuine_token_with_these_claims_is_accepted(registry: Registry) -> None:
    """The control for the forgeries below: only what they change makes them fail."""
    account = await registry.create_account("worker")
    keys = registry.ctx.extras["signing_keys"].current()
    response = await registry.me(_signed(keys, _claims(registry, account["id"])))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_and_misdirected_tokens_are_refused(registry: Registry, forgery: str) -> None:
    account = await registry.create_account("worker")
    keys = registry.ctx.extras["signing_keys"].current()
    token = FORGERIES[forgery](registry, keys, account["id"])
    response = await registry.me(token)
    body = problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    if forgery in REASONS:
        assert REASONS[forgery] in body["detail"], body["detail"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}],
    ids=["missing", "basic", "empty bearer"],
)
async def test_missing_or_malformed_authorization_is_401(
    registry: Registry, headers: dict[str, str]
) -> None:
    response = await registry.client.get("/api/v1/me", headers=headers)
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="jiasao"'


async def test_a_refresh_token_is_not_an_access_token(registry: Registry) -> None:
    account = await registry.create_account("worker")
    tokens = await registry.tokens(account["phone"])
    response = await registry.client.get("/api/v1/me", headers=auth(tokens["refresh_token"]))
    problem(response, 401)
