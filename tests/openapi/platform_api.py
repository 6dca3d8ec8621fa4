"""A platform for the contract tests: the gateway's merged OpenAPI document as partners get it,
tokens minted with the platform's own signing keys, and the per-client rate limits lifted (a
generated client and a fuzzer send far more than a person would, and a 429 would hide the
answer under test)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from devtools.run import Platform, PlatformConfig, PlatformError
from services.kit.auth import SigningKeys, TokenIssuer
from services.kit.principal import Role
from services.kit.settings import PlatformSettings

NO_RATE_LIMITS = {
    "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
    "GATEWAY_RATE_LIMIT_BURST": "1000000",
    "GATEWAY_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "100000000",
    "GATEWAY_ANONYMOUS_RATE_LIMIT_BURST": "1000000",
}


def start_platform(var_dir: Path) -> Platform:
    """The whole platform on free ports under ``var_dir``, without rate limits; on failure
    the error carries the log tails."""
    platform = Platform(PlatformConfig.with_free_ports(var_dir, env=dict(NO_RATE_LIMITS)))
    try:
        platform.start()
    except PlatformError as exc:
        tails = platform.log_tails()
        platform.stop()
        raise PlatformError(f"{exc}\nlog tails:\n{tails}") from exc
    return platform


def token(platform: Platform, role: Role, *, ttl: int = 900) -> str:
    """A bearer token for a new account of ``role`` (staff roles act for no party)."""
    settings = PlatformSettings()
    keys = SigningKeys.load(platform.config.var_dir / "secrets" / "jwt_keys.json")
    issuer = TokenIssuer(keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=ttl)
    value, _ = issuer.issue(subject=str(uuid.uuid4()), role=role, party_id=None)
    return value


def fetch_document(platform: Platform) -> dict[str, Any]:
    """The merged document exactly as the gateway serves it to partners."""
    response = httpx.get(f"{platform.gateway_url}/openapi.json", timeout=30)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def write_document(platform: Platform, path: Path) -> Path:
    path.write_text(json.dumps(fetch_document(platform), ensure_ascii=False, indent=1))
    return path
