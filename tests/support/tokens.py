"""Mint real access tokens for tests with the session's development signing keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from services.kit.auth import SigningKeys, TokenIssuer, jwt_key_file
from services.kit.principal import Role
from services.kit.settings import PlatformSettings


def issuer() -> TokenIssuer:
    platform = PlatformSettings()
    return TokenIssuer(
        SigningKeys.load(jwt_key_file(platform)),
        issuer=platform.jwt_issuer,
        audience=platform.jwt_audience,
        ttl=300,
    )


def bearer(
    role: Role,
    party_id: uuid.UUID | str | None = None,
    *,
    scopes: Iterable[str] = (),
    subject: str | None = None,
) -> dict[str, str]:
    """An Authorization header for a caller of ``role`` acting for ``party_id``."""
    token, _ = issuer().issue(
        subject=subject or str(uuid.uuid4()),
        role=role,
        party_id=uuid.UUID(str(party_id)) if party_id is not None else None,
        scopes=scopes,
    )
    return {"Authorization": f"Bearer {token}"}
