"""Signed exchange: detached JWS (EdDSA) signatures over exchanged files and feed pages.

What is signed is a small JSON *manifest* naming the content by its SHA-256 and size (plus
what it is: dataset, cursor range, recipient, time), never the content itself, so a file of
any size is signed and verified with flat memory. The compact JWS travels beside the content —
in the ``Jiasao-Signature`` response header, or as a ``.jws`` file next to a downloaded file —
and a recipient proves what it received and from whom with the content, the JWS and the
signer's published keys (a JWKS), nothing else.

The platform signs with its exchange key (``JIASAO_EXCHANGE_KEYS_FILE``; development key
``<var>/secrets/exchange_keys.json``, same format as the token signing keys, so it rotates the
same way). Agencies sign what they send with Ed25519 keys registered for them; the same
:func:`verify` checks both.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.kit.auth import SigningKeys, new_private_pem
from services.kit.secret_files import write_once
from services.kit.settings import PlatformSettings

ALGORITHM = "EdDSA"
SIGNATURE_HEADER = "Jiasao-Signature"
#: JWS ``typ`` of an exchange manifest (tokens are ``JWT``: one can never pass for the other).
TYP = "jiasao-exchange+jws"
KEY_FILE_NAME = "exchange_keys.json"
_CHUNK = 1 << 16


class SignatureError(Exception):
    """The signature is missing, malformed, by an unknown key, or does not cover the content."""


def exchange_key_file(platform: PlatformSettings) -> Path:
    return platform.exchange_keys_file or platform.var_dir / "secrets" / KEY_FILE_NAME


def ensure_dev_exchange_keys(var_dir: Path) -> Path:
    """A development exchange key file with one fresh Ed25519 key, unless one exists."""
    kid = f"exchange-dev-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    return write_once(
        var_dir / "secrets" / KEY_FILE_NAME, {"active": kid, "keys": {kid: new_private_pem()}}
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> tuple[str, int]:
    """(SHA-256 hex, size) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign_manifest(
    private_key: Any, kid: str, content_sha256: str, size: int, claims: dict[str, Any]
) -> str:
    """A compact JWS over the manifest of content with this digest and size."""
    manifest = {
        **claims,
        "sha256": content_sha256,
        "size": size,
        "iat": int(datetime.now(UTC).timestamp()),
    }
    return jwt.api_jws.encode(
        _manifest_bytes(manifest),
        private_key,
        algorithm=ALGORITHM,
        headers={"kid": kid, "typ": TYP},
    )


@dataclass(frozen=True)
class ExchangeSigner:
    """The platform's exchange signer (``ctx.extras["exchange_signer"]``)."""

    keys: SigningKeys
    issuer: str
    #: The service whose audit chain records what this signer signs (the ``audit`` claim's
    #: ``chain``: an anchor names the chain that must hold it).
    chain: str | None = None

    @classmethod
    def load(cls, platform: PlatformSettings, chain: str | None = None) -> ExchangeSigner:
        if platform.exchange_keys_file is None:
            ensure_dev_exchange_keys(platform.var_dir)
        return cls(SigningKeys.load(exchange_key_file(platform)), platform.jwt_issuer, chain)

    def sign(self, content_sha256: str, size: int, **claims: Any) -> str:
        kid = self.keys.active_kid
        return sign_manifest(
            self.keys.private[kid], kid, content_sha256, size, {"iss": self.issuer, **claims}
        )

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return self.keys.public_keys()


def public_keys_from_jwks(jwks: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Ed25519 keys of a JWKS by ``kid`` (other key types are ignored)."""
    out: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        key = jwt.algorithms.OKPAlgorithm.from_jwk(json.dumps(jwk))
        if isinstance(key, Ed25519PublicKey) and isinstance(jwk.get("kid"), str):
            out[jwk["kid"]] = key
    return out


def signature_kid(jws: str) -> str:
    """The ``kid`` a JWS names (unverified; to pick the key)."""
    try:
        header = jwt.get_unverified_header(jws)
    except jwt.PyJWTError as exc:
        raise SignatureError(f"The signature is not a compact JWS: {exc}") from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise SignatureError("The signature must be EdDSA and name its key (kid)")
    if header.get("typ") != TYP:
        raise SignatureError(f"The signature's typ must be {TYP}")
    return kid


def verify(
    jws: str,
    keys: dict[str, Ed25519PublicKey],
    *,
    content_sha256: str,
    size: int | None = None,
    issuers: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The manifest of a valid signature over content with this digest; else SignatureError."""
    manifest = verify_manifest(jws, keys, issuers=issuers)
    if manifest.get("sha256") != content_sha256:
        raise SignatureError("The content does not match the signature (SHA-256 differs)")
    if size is not None and manifest.get("size") != size:
        raise SignatureError("The content does not match the signature (size differs)")
    return manifest


def verify_manifest(
    jws: str, keys: dict[str, Ed25519PublicKey], *, issuers: Iterable[str] | None = None
) -> dict[str, Any]:
    """The manifest of a valid signature, whatever content it names; else SignatureError."""
    kid = signature_kid(jws.strip())
    key = keys.get(kid)
    if key is None:
        raise SignatureError(f"The signature's key {kid!r} is not a registered key")
    try:
        payload = jwt.api_jws.decode(jws.strip(), key, algorithms=[ALGORITHM])
        manifest = json.loads(payload)
    except (jwt.PyJWTError, ValueError) as exc:
        raise SignatureError(f"The signature does not verify: {exc}") from None
    if not isinstance(manifest, dict):
        raise SignatureError("The signed manifest is not a JSON object")
    if issuers is not None and manifest.get("iss") not in set(issuers):
        raise SignatureError("The signature is by an unexpected issuer")
    return manifest
