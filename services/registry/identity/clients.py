"""Partner platforms' OAuth2 clients: creation, revocation and the client-credentials grant.

Only a registered, active partner holds clients that work: clients are made only for an active
partner, suspending a partner revokes all of its clients in the suspending transaction
(:func:`revoke_partner_clients`), and the grant checks the partner's status again in the same
transaction that records the client's use, so a token is never issued after the suspension
committed. Partner access tokens live ``partner_token_ttl_seconds`` (5 minutes by default),
which bounds how long a token issued just before a suspension keeps working.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.errors import Conflict, NotFound
from services.kit.types import utcnow
from services.registry.agencies.models import Agency
from services.registry.identity.config import IdentitySettings
from services.registry.identity.models import CLIENT_ID_PREFIX, OAuthClient
from services.registry.identity.passwords import Passwords
from services.registry.identity.problems import oauth_error
from services.registry.identity.schemas import ClientToken
from services.registry.identity.scopes import PARTNER_SCOPES
from services.registry.identity.tokens import RotatingTokenIssuer
from services.registry.parties.models import Partner

log = logging.getLogger(__name__)


async def revoke_partner_clients(session: AsyncSession, partner_id: uuid.UUID) -> int:
    """Revoke every active client of a partner in the caller's transaction; returns how many."""
    result = await session.execute(
        update(OAuthClient)
        .where(OAuthClient.partner_id == partner_id, OAuthClient.active.is_(True))
        .values(active=False, revoked_at=utcnow())
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("oauth clients revoked", extra={"partner_id": str(partner_id), "count": count})
    return count


async def _partner_status(session: AsyncSession, partner_id: uuid.UUID) -> str | None:
    status: str | None = await session.scalar(
        select(Partner.status).where(Partner.id == partner_id)
    )
    return status


@dataclass
class PartnerClients:
    """The client operations of one running registry (``ctx.extras["partner_clients"]``)."""

    db: Database
    passwords: Passwords
    issuer: RotatingTokenIssuer
    settings: IdentitySettings

    @property
    def token_ttl(self) -> int:
        """Partner tokens never outlive people's access tokens."""
        return min(self.settings.partner_token_ttl_seconds, self.issuer.ttl)

    async def create_client(
        self, partner_id: uuid.UUID, name: str, scopes: list[str], created_by: str
    ) -> tuple[OAuthClient, str]:
        """404 for an unknown partner, 409 for a suspended one."""
        secret = secrets.token_urlsafe(32)
        secret_hash = await self.passwords.hash(secret)  # outside the transaction: slow
        client = OAuthClient(
            client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
            secret_hash=secret_hash,
            partner_id=partner_id,
            name=name,
            scopes=sorted(set(scopes), key=PARTNER_SCOPES.index),
            active=True,
            created_by=created_by,
            created_at=utcnow(),
            last_used_at=None,
            revoked_at=None,
        )
        async with self.db.write() as session:
            partner = await session.get(Partner, partner_id, with_for_update=True)
            if partner is None:
                raise NotFound("partner", partner_id)
            if partner.status != "active":
                raise Conflict(
                    f"The partner is {partner.status}; reactivate it before giving it clients",
                    slug="partner-not-active",
                )
            session.add(client)
        log.info("oauth client created", extra={"client_id": client.client_id})
        return client, secret

    async def list_clients(self, partner_id: uuid.UUID) -> list[OAuthClient]:
        async with self.db.read() as session:
            result = await session.scalars(
                select(OAuthClient)
                .where(OAuthClient.partner_id == partner_id)
                .order_by(OAuthClient.created_at, OAuthClient.client_id)
            )
            return list(result.all())

    async def revoke_client(self, partner_id: uuid.UUID, client_id: str) -> None:
        async with self.db.write() as session:
            client = await session.get(OAuthClient, client_id, with_for_update=True)
            if client is None or client.partner_id != partner_id:
                raise NotFound("OAuth client", client_id)
            if client.active:
                client.active = False
                client.revoked_at = utcnow()
        log.info("oauth client revoked", extra={"client_id": client_id})

    async def client_token(
        self, client_id: str, client_secret: str, scope: str | None
    ) -> ClientToken:
        """The client-credentials grant (RFC 6749 §4.4)."""
        client: OAuthClient | None = None
        if len(client_id) <= 40:
            async with self.db.read() as session:
                client = await session.get(OAuthClient, client_id)
        usable = client is not None and client.active
        secret_hash = client.secret_hash if client is not None and usable else None
        if not await self.passwords.verify(secret_hash, client_secret):
            raise oauth_error(401, "invalid_client", "Unknown client or wrong client secret")
        assert client is not None
        if client.party_kind == "agency":
            return await self._agency_token(client, scope)
        requested = scope.split() if scope and scope.strip() else list(client.scopes)
        unknown = sorted(s for s in set(requested) if s not in PARTNER_SCOPES)
        if unknown:
            raise oauth_error(400, "invalid_scope", f"Unknown scope: {' '.join(unknown)}", "scope")
        not_allowed = sorted(set(requested) - set(client.scopes))
        if not_allowed:
            raise oauth_error(
                400,
                "invalid_scope",
                f"Scope not granted to this client: {' '.join(not_allowed)}",
                "scope",
            )
        async with self.db.write() as session:
            # The client row update waits for a suspension in flight (which revokes the
            # client), and then matches nothing: no token after a committed suspension.
            used = await session.execute(
                update(OAuthClient)
                .where(OAuthClient.client_id == client.client_id, OAuthClient.active.is_(True))
                .values(last_used_at=utcnow())
            )
            still_active = bool(getattr(used, "rowcount", 0))
            status = await _partner_status(session, client.partner_id)
        if not still_active:
            raise oauth_error(401, "invalid_client", "Unknown client or wrong client secret")
        if status != "active":
            raise oauth_error(
                400,
                "unauthorized_client",
                "The partner platform this client belongs to is not active",
            )
        granted = sorted(set(requested))
        return self._issue(client, "partner", granted)

    def _issue(self, client: OAuthClient, role: str, granted: list[str]) -> ClientToken:
        access, lifetime = self.issuer.issue(
            subject=client.client_id,
            role=role,
            party_id=client.partner_id,
            scopes=granted,
            ttl=self.token_ttl,
        )
        return ClientToken(access_token=access, expires_in=lifetime, scope=" ".join(granted))

    async def _agency_token(self, client: OAuthClient, scope: str | None) -> ClientToken:
        """An agency's token: the scopes of its data-sharing agreements in force now (all of
        them, or those requested; asking for one no agreement covers is ``invalid_scope``)."""
        from services.registry.agencies.datasets import AGENCY_SCOPES
        from services.registry.agencies.service import scopes_in_force

        requested = set(scope.split()) if scope and scope.strip() else None
        unknown = sorted(s for s in requested or () if s not in AGENCY_SCOPES)
        if unknown:
            raise oauth_error(400, "invalid_scope", f"Unknown scope: {' '.join(unknown)}", "scope")
        async with self.db.write() as session:
            used = await session.execute(
                update(OAuthClient)
                .where(OAuthClient.client_id == client.client_id, OAuthClient.active.is_(True))
                .values(last_used_at=utcnow())
            )
            still_active = bool(getattr(used, "rowcount", 0))
            status = await session.scalar(
                select(Agency.status).where(Agency.id == client.partner_id)
            )
            available = await scopes_in_force(session, client.partner_id)
        if not still_active:
            raise oauth_error(401, "invalid_client", "Unknown client or wrong client secret")
        if status != "active":
            raise oauth_error(
                400, "unauthorized_client", "The agency this client belongs to is not active"
            )
        if requested is not None and not requested <= available:
            missing = " ".join(sorted(requested - available))
            raise oauth_error(
                400,
                "invalid_scope",
                f"No data-sharing agreement in force covers: {missing}",
                "scope",
            )
        granted = sorted(requested if requested is not None else available)
        return self._issue(client, "agency", granted)
