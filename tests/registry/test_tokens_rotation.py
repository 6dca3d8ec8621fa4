"""Signing-key rotation without restart or logout, the JWKS, and the rotate-keys command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from devtools.nats import NatsServer
from services.kit.auth import (
    SigningKeys,
    StaticKeySource,
    TokenIssuer,
    TokenVerifier,
    build_verifier,
    ensure_dev_jwt_keys,
    rotate_jwt_keys,
)
from services.kit.settings import PlatformSettings
from tests.registry.test_identity_support import (
    PASSWORD,
    Registry,
    header_of,
    new_phone,
    registry_app,
)
from tests.support.apps import eventually

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A key file of this test's own, so rotating it cannot disturb other tests."""
    return ensure_dev_jwt_keys(tmp_path / "keys")


@pytest.fixture
async def registry(
    backend: str, tmp_path: Path, nats_server: NatsServer, key_file: Path
) -> AsyncIterator[Registry]:
    async with registry_app(backend, tmp_path, nats_server.url, jwt_keys_file=key_file) as app:
        yield app


async def _worker(registry: Registry) -> tuple[str, uuid.UUID]:
    """A worker account made directly (the shared test admin token is not signed with this
    registry's keys); returns its phone and id."""
    phone = new_phone()
    account = await registry.identity.create_account(
        phone=phone,
        password=PASSWORD,
        role="worker",
        party_id=uuid.uuid4(),
        display_name="李秀英",
        created_by="test",
    )
    return phone, account.id


def _verifier_from_jwks(jwks: dict[str, Any], platform: PlatformSettings) -> TokenVerifier:
    keys = {k["kid"]: jwt.algorithms.OKPAlgorithm.from_jwk(k) for k in jwks["keys"]}
    return TokenVerifier(
        StaticKeySource(keys),  # type: ignore[arg-type]
        issuer=platform.jwt_issuer,
        audience=platform.jwt_audience,
    )


async def test_rotation_switches_keys_without_restart_and_old_tokens_still_verify(
    registry: Registry, key_file: Path
) -> None:
    phone, _ = await _worker(registry)
    before = await registry.tokens(phone)
    old_kid = header_of(before["access_token"])["kid"]

    new_kid = rotate_jwt_keys(key_file)
    assert new_kid != old_kid

    async def token_with_new_kid() -> dict[str, Any] | None:
        tokens = await registry.tokens(phone)
        return tokens if header_of(tokens["access_token"])["kid"] == new_kid else None

    after = await eventually(token_with_new_kid, timeout=10, interval=0.2)

    # Both verify through the registry's own endpoints and its verifier...
    for tokens in (before, after):
        assert (await registry.me(tokens["access_token"])).status_code == 200
        principal = await registry.app.state.token_verifier.verify(tokens["access_token"])
        assert principal.role == "worker"
    # ...through the key-file verifier every other service uses...
    platform = registry.ctx.platform
    other_service = build_verifier(platform)
    for tokens in (before, after):
        assert (await other_service.verify(tokens["access_token"])).role == "worker"
    # ...and through the published JWKS, which lists both keys, the active one first.
    response = await registry.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    jwks = response.json()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, old_kid]
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in jwks["keys"])
    assert all(k["alg"] == "EdDSA" and k["use"] == "sig" for k in jwks["keys"])
    assert not any("d" in k for k in jwks["keys"])  # public halves only
    from_jwks = _verifier_from_jwks(jwks, platform)
    for tokens in (before, after):
        assert (await from_jwks.verify(tokens["access_token"])).role == "worker"
    # Refresh tokens are not tied to a key: a session from before the rotation continues.
    refreshed = await registry.refresh(before["refresh_token"])
    assert refreshed.status_code == 200
    assert header_of(refreshed.json()["access_token"])["kid"] == new_kid


async def test_a_token_signed_right_after_rotation_verifies_at_once(
    registry: Registry, key_file: Path
) -> None:
    """A token naming a kid the registry has not loaded yet makes it look at the file now."""
    phone, account_id = await _worker(registry)
    await registry.tokens(phone)  # keys loaded and checked just now
    new_kid = rotate_jwt_keys(key_file)
    platform = registry.ctx.platform
    issuer = TokenIssuer(
        SigningKeys.load(key_file),
        issuer=platform.jwt_issuer,
        audience=platform.jwt_audience,
        ttl=60,
    )
    token, _ = issuer.issue(subject=str(account_id), role="worker")
    assert header_of(token)["kid"] == new_kid
    response = await registry.me(token)
    assert response.status_code == 200, response.text


def _cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.registry", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )


def test_rotate_keys_command_adds_an_active_key(tmp_path: Path) -> None:
    key_file = ensure_dev_jwt_keys(tmp_path)
    old = json.loads(key_file.read_text())
    env = {**os.environ, "JIASAO_JWT_KEYS_FILE": str(key_file)}
    result = _cli("rotate-keys", env=env)
    assert result.returncode == 0, result.stderr
    kid = result.stdout.strip()
    new = json.loads(key_file.read_text())
    assert new["active"] == kid != old["active"]
    assert set(new["keys"]) == {*old["keys"], kid}
    assert key_file.stat().st_mode & 0o077 == 0

    missing = _cli("rotate-keys", env={**env, "JIASAO_JWT_KEYS_FILE": str(tmp_path / "none.json")})
    assert missing.returncode == 2
    assert "No token signing keys" in missing.stderr
