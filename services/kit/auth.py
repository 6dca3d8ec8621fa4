"""Access tokens: EdDSA-signed JWTs issued by the registry, verified by every process.

Verification is strict by construction: one fixed algorithm (EdDSA; ``alg: none`` or HS256 are
refused), a known ``kid``, and required ``exp``, ``iat``, ``iss``, ``aud``, ``sub`` and ``role``.
Keys rotate by adding a new active key: the old public key stays in the JWKS, so tokens it
signed keep verifying until they expire and nobody is logged out.

Private keys live in a key file (``<var>/secrets/jwt_keys.json`` in development, created by
:func:`ensure_dev_jwt_keys`; a mounted secret in production). Services verify with the public
halves from that file or, in production, from the registry's JWKS URL.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.kit.principal import ROLES, Principal, unauthorized
from services.kit.secret_files import write_once
from services.kit.settings import PlatformSettings

ALGORITHM = "EdDSA"
KEY_FILE_NAME = "jwt_keys.json"
LEEWAY_SECONDS = 10


class SigningKeyError(RuntimeError):
    """The signing key file is missing or malformed."""


def jwt_key_file(platform: PlatformSettings) -> Path:
    return platform.jwt_keys_file or platform.var_dir / "secrets" / KEY_FILE_NAME


def new_private_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def ensure_dev_jwt_keys(var_dir: Path) -> Path:
    """Create a development signing key file with one fresh Ed25519 key, unless one exists."""
    kid = f"dev-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    return write_once(
        var_dir / "secrets" / KEY_FILE_NAME, {"active": kid, "keys": {kid: new_private_pem()}}
    )


def rotate_jwt_keys(path: Path) -> str:
    """Add a new active key to the file, keeping the old ones for verification. Returns its kid."""
    content = json.loads(path.read_text())
    kid = f"k-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    content["keys"][kid] = new_private_pem()
    content["active"] = kid
    tmp = path.with_name(f".{path.name}.rotate")
    tmp.write_text(json.dumps(content, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return kid


@dataclass(frozen=True)
class SigningKeys:
    active_kid: str
    private: dict[str, Ed25519PrivateKey]

    @classmethod
    def load(cls, path: Path) -> SigningKeys:
        try:
            content = json.loads(path.read_text())
            private = {
                kid: serialization.load_pem_private_key(pem.encode(), password=None)
                for kid, pem in content["keys"].items()
            }
            active = content["active"]
        except FileNotFoundError as exc:
            raise SigningKeyError(
                f"No token signing keys at {path}: run `make run` once (it generates development "
                "keys) or set JIASAO_JWT_KEYS_FILE"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise SigningKeyError(f"Malformed signing key file {path}: {exc}") from exc
        if active not in private or not all(
            isinstance(k, Ed25519PrivateKey) for k in private.values()
        ):
            raise SigningKeyError(f"{path}: the active key must be one of its Ed25519 keys")
        return cls(active, private)  # type: ignore[arg-type]

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {kid: key.public_key() for kid, key in self.private.items()}

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JSON Web Key Set, active key first."""
        keys = []
        for kid in sorted(self.private, key=lambda k: k != self.active_kid):
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}


class TokenIssuer:
    """Signs access tokens with the active key (used only by the registry)."""

    def __init__(self, keys: SigningKeys, *, issuer: str, audience: str, ttl: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def issue(
        self,
        *,
        subject: str,
        role: str,
        party_id: uuid.UUID | None = None,
        scopes: Iterable[str] = (),
        ttl: int | None = None,
    ) -> tuple[str, int]:
        """Returns the token and its lifetime in seconds."""
        now = int(time.time())
        lifetime = ttl or self.ttl
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(12),
        }
        if party_id is not None:
            claims["pid"] = str(party_id)
        if scope := " ".join(sorted(set(scopes))):
            claims["scope"] = scope
        kid = self.keys.active_kid
        token = jwt.encode(
            claims, self.keys.private[kid], algorithm=ALGORITHM, headers={"kid": kid}
        )
        return token, lifetime


class KeySource(Protocol):
    async def key(self, kid: str) -> Ed25519PublicKey | None: ...


class StandingCheck(Protocol):
    """Refuses a verified principal whose party is suspended (services.kit.suspensions)."""

    def check(self, principal: Principal) -> None: ...


class StaticKeySource:
    """Public keys known in-process (the registry's own, or read from the key file)."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self.keys = keys

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        return self.keys.get(kid)


class FileKeySource:
    """Public halves of the key file, re-read when an unknown kid appears (after rotation)."""

    def __init__(self, path: Path, min_reload_interval: float = 5.0) -> None:
        self.path = path
        self.min_reload_interval = min_reload_interval
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = 0.0

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        if kid not in self._keys and time.monotonic() - self._loaded_at > self.min_reload_interval:
            self._loaded_at = time.monotonic()
            try:
                self._keys = SigningKeys.load(self.path).public_keys()
            except SigningKeyError:
                return None
        return self._keys.get(kid)


class JwksKeySource:
    """The registry's JWKS over HTTP: fetched on first use and again for an unknown kid only,
    at most every ``min_reload_interval`` seconds, so verification never hits the network on
    the hot path."""

    def __init__(self, url: str, min_reload_interval: float = 30.0) -> None:
        self.url = url
        self.min_reload_interval = min_reload_interval
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._loaded_at = 0.0

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        if kid not in self._keys and time.monotonic() - self._loaded_at > self.min_reload_interval:
            self._loaded_at = time.monotonic()
            try:
                timeout = aiohttp.ClientTimeout(total=5)
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    async with session.get(self.url) as response:
                        response.raise_for_status()
                        jwks = await response.json()
                self._keys = {
                    jwk["kid"]: jwt.algorithms.OKPAlgorithm.from_jwk(jwk)  # type: ignore[misc]
                    for jwk in jwks.get("keys", [])
                    if jwk.get("kty") == "OKP" and "kid" in jwk
                }
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
                return None
        return self._keys.get(kid)


#: How long a verified token is remembered at most, and how many are.
VERIFIED_TTL_SECONDS = 60.0
VERIFIED_CACHE_SIZE = 4096


class TokenVerifier:
    """Verifies access tokens and remembers the verified ones for a short while.

    A signature check costs ~0.2 ms, as much as the rest of a cached read, and a client sends
    the same token with every call. A verified token is therefore kept (bounded LRU, keyed by
    the raw token) until its ``exp`` or for :data:`VERIFIED_TTL_SECONDS`, whichever is sooner;
    after that it is verified again from scratch. Refused tokens are never remembered.

    With ``standing`` set (every service app sets it), each verified principal, remembered or
    not, is then checked against the suspended partners and agencies: a suspension takes effect
    on the next request, not when the token expires or leaves the cache.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        cache_size: int = VERIFIED_CACHE_SIZE,
        cache_ttl: float = VERIFIED_TTL_SECONDS,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.cache_size = cache_size
        self.cache_ttl = cache_ttl
        self.standing: StandingCheck | None = None
        # raw token → (remembered until, epoch seconds; principal)
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The principal a valid token names; raises a 401 problem otherwise."""
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if cached[0] > now:
                self._verified.move_to_end(token)
                if self.standing is not None:
                    self.standing.check(cached[1])
                return cached[1]
            del self._verified[token]
        principal, expires = await self._verify(token)
        if self.cache_size > 0:
            self._verified[token] = (min(expires, now + self.cache_ttl), principal)
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        if self.standing is not None:
            self.standing.check(principal)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        """Full verification: the principal and the token's ``exp``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("The token is not a JWT") from exc
        if header.get("alg") != ALGORITHM:
            raise unauthorized(f"Tokens must be signed with {ALGORITHM}")
        kid = header.get("kid")
        key = await self.keys.key(kid) if isinstance(kid, str) else None
        if key is None:
            raise unauthorized("The token's signing key is not known")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("The token has expired") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized(f"The token is not valid: {exc}") from exc
        # ``exp`` is required and was checked above, so it is a number.
        return principal_from_claims(claims), float(claims["exp"])


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise unauthorized("The token names no known role")
    try:
        party_id = uuid.UUID(claims["pid"]) if claims.get("pid") else None
    except (ValueError, TypeError) as exc:
        raise unauthorized("The token's party id is malformed") from exc
    scope = claims.get("scope", "")
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        party_id=party_id,
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        token_id=claims.get("jti"),
    )


def build_verifier(platform: PlatformSettings) -> TokenVerifier:
    """The verifier a process uses: JWKS URL when configured, else the local key file."""
    source: KeySource = (
        JwksKeySource(platform.jwks_url)
        if platform.jwks_url
        else FileKeySource(jwt_key_file(platform))
    )
    return TokenVerifier(source, issuer=platform.jwt_issuer, audience=platform.jwt_audience)
