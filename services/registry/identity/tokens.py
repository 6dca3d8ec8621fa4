"""Signing keys that follow the key file, the registry's own verifier, refresh-token helpers.

Key rotation (``python -m services.registry rotate-keys`` or
:func:`services.kit.auth.rotate_jwt_keys`) rewrites the key file atomically with a new active
key and the old ones kept. :class:`SigningKeyRing` notices the change by the file's identity
(inode, mtime, size), checked at most every ``check_interval`` seconds when signing, and at
once when a token names a kid it does not know; so new tokens use the new key within seconds,
without a restart, and tokens signed by the old key keep verifying until they expire.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.kit.auth import SigningKeyError, SigningKeys, TokenIssuer

log = logging.getLogger(__name__)

#: Bytes of randomness in a refresh token (``secrets.token_urlsafe(32)``: 43 characters).
REFRESH_TOKEN_BYTES = 32


class SigningKeyRing:
    """The signing keys in ``path``, reloaded when the file changes."""

    def __init__(self, path: Path, check_interval: float = 2.0) -> None:
        self.path = path
        self.check_interval = check_interval
        self._keys: SigningKeys | None = None
        self._signature: tuple[int, int, int] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def current(self, *, force: bool = False) -> SigningKeys:
        """The keys; re-reads the file if it changed (checked now when ``force``)."""
        keys = self._keys
        if (
            keys is not None
            and not force
            and time.monotonic() - self._checked_at < self.check_interval
        ):
            return keys
        with self._lock:
            return self._reload_if_changed()

    def _reload_if_changed(self) -> SigningKeys:
        self._checked_at = time.monotonic()
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            if self._keys is None:
                return SigningKeys.load(self.path)  # raises the helpful SigningKeyError
            log.error("signing key file %s disappeared; keeping the keys in memory", self.path)
            return self._keys
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._keys is not None and signature == self._signature:
            return self._keys
        try:
            keys = SigningKeys.load(self.path)
        except SigningKeyError:
            if self._keys is None:
                raise
            log.exception("signing key file %s is unreadable; keeping the old keys", self.path)
            return self._keys
        if self._keys is not None and keys.active_kid != self._keys.active_kid:
            log.info(
                "signing keys reloaded",
                extra={"active_kid": keys.active_kid, "kids": sorted(keys.private)},
            )
        self._keys, self._signature = keys, signature
        return keys


class RingKeySource:
    """Public keys for the registry's own token verification, straight from the ring."""

    def __init__(self, ring: SigningKeyRing) -> None:
        self.ring = ring

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        private = self.ring.current().private.get(kid)
        if private is None:  # perhaps rotated a moment ago: look at the file now
            private = self.ring.current(force=True).private.get(kid)
        return private.public_key() if private is not None else None


class RotatingTokenIssuer(TokenIssuer):
    """A :class:`TokenIssuer` that always signs with the ring's current active key."""

    def __init__(self, ring: SigningKeyRing, *, issuer: str, audience: str, ttl: int) -> None:
        self.ring = ring
        super().__init__(ring.current(), issuer=issuer, audience=audience, ttl=ttl)

    def issue(
        self,
        *,
        subject: str,
        role: str,
        party_id: uuid.UUID | None = None,
        scopes: Iterable[str] = (),
        ttl: int | None = None,
    ) -> tuple[str, int]:
        self.keys = self.ring.current()
        return super().issue(subject=subject, role=role, party_id=party_id, scopes=scopes, ttl=ttl)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def refresh_token_hash(token: str) -> str:
    """What the database stores: the token has 256 random bits, so a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()
