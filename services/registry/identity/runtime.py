"""Wiring identity into the registry app: signing keys, token issuer, verifier, services."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from services.kit.app import ServiceContext
from services.kit.auth import TokenVerifier, ensure_dev_jwt_keys, jwt_key_file
from services.kit.pii import load_pii_cipher
from services.kit.settings import PlatformSettings
from services.registry.identity.clients import PartnerClients
from services.registry.identity.config import IdentitySettings
from services.registry.identity.passwords import Passwords
from services.registry.identity.service import IdentityService
from services.registry.identity.tokens import RingKeySource, RotatingTokenIssuer, SigningKeyRing

log = logging.getLogger(__name__)


class IdentityRuntime:
    """Built with the app (no I/O); :meth:`start` loads keys when the service starts."""

    def __init__(self, platform: PlatformSettings, settings: IdentitySettings | None = None):
        self.platform = platform
        self.settings = settings or IdentitySettings()
        self.ring = SigningKeyRing(
            jwt_key_file(platform), check_interval=self.settings.signing_key_check_seconds
        )

    def install(self, app: FastAPI) -> None:
        """The registry verifies tokens with its own key ring, which follows rotations at once
        (other processes use the key file or the JWKS)."""
        verifier = TokenVerifier(
            RingKeySource(self.ring),
            issuer=self.platform.jwt_issuer,
            audience=self.platform.jwt_audience,
        )
        # Suspended partners and agencies are refused here too (services.kit.suspensions).
        verifier.standing = app.state.suspensions
        app.state.token_verifier = verifier
        app.state.signing_keys = self.ring

    async def start(self, ctx: ServiceContext) -> None:
        if self.platform.jwt_keys_file is None and not self.ring.path.exists():
            # Development: `make run` from a fresh clone. Production mounts a key file.
            ensure_dev_jwt_keys(self.platform.var_dir)
            log.warning("generated development token signing keys at %s", self.ring.path)
        keys = self.ring.current()  # fails start-up with a clear message if unusable
        if "pii" not in ctx.extras:
            ctx.extras["pii"] = load_pii_cipher(ctx.platform)
        issuer = RotatingTokenIssuer(
            self.ring,
            issuer=self.platform.jwt_issuer,
            audience=self.platform.jwt_audience,
            ttl=self.platform.access_token_ttl,
        )
        passwords = Passwords(self.settings.password_hash_concurrency)
        await passwords.warm_up()
        ctx.extras["signing_keys"] = self.ring
        ctx.extras["token_issuer"] = issuer
        ctx.extras["passwords"] = passwords
        ctx.extras["identity"] = IdentityService(
            ctx.db, ctx.extras["pii"], passwords, issuer, self.settings
        )
        ctx.extras["partner_clients"] = PartnerClients(ctx.db, passwords, issuer, self.settings)
        log.info("identity ready", extra={"active_kid": keys.active_kid})
