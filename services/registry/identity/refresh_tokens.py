"""Refresh-token rows: issuing one into a family, finding one safely, revoking families.

A family is the chain of tokens one login started; each refresh uses its token and adds the
successor. Only the token's hash is stored. Every function runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.ids import new_id
from services.kit.types import utcnow
from services.registry.identity.models import Account, RefreshToken
from services.registry.identity.tokens import new_refresh_token, refresh_token_hash


def add_refresh_token(
    session: AsyncSession, account_id: uuid.UUID, family_id: uuid.UUID, ttl_seconds: int
) -> tuple[RefreshToken, str]:
    """Add a new token to ``family_id``: its row, and the token itself (shown once, never
    stored)."""
    token = new_refresh_token()
    now = utcnow()
    row = RefreshToken(
        id=new_id(),
        account_id=account_id,
        family_id=family_id,
        token_hash=refresh_token_hash(token),
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(row)
    return row, token


async def locked_token(session: AsyncSession, token: str) -> RefreshToken | None:
    """The refresh token row, read again after locking its account's row.

    Every change to an account's refresh tokens (login, refresh, logout, password change,
    disabling) first locks the account row, so concurrent ones queue on one lock and can
    never deadlock over the token rows of a family.
    """
    token_hash = refresh_token_hash(token)
    account_id = await session.scalar(
        select(RefreshToken.account_id).where(RefreshToken.token_hash == token_hash)
    )
    if account_id is None:
        return None
    await session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
    return await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == token_hash)
        .execution_options(populate_existing=True)
    )


async def revoke_account_tokens(
    session: AsyncSession, account_id: uuid.UUID, reason: str, now: datetime
) -> None:
    await _revoke_live(session, RefreshToken.account_id == account_id, reason, now)


async def revoke_family(
    session: AsyncSession, family_id: uuid.UUID, reason: str, now: datetime
) -> None:
    await _revoke_live(session, RefreshToken.family_id == family_id, reason, now)


async def _revoke_live(
    session: AsyncSession, match: ColumnElement[bool], reason: str, now: datetime
) -> None:
    """Revoke the not yet revoked refresh tokens that ``match``."""
    await session.execute(
        update(RefreshToken)
        .where(match, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
