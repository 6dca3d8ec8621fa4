"""Identity operations of a running registry: login, refresh and logout, password changes,
and accounts (partner OAuth clients: :mod:`.clients`).

This module orchestrates; the lockout is :mod:`.lockout`, the token rows :mod:`.refresh_tokens`,
the account rows :mod:`.accounts` and the refusals :mod:`.problems`. Slow work (argon2) happens
outside database transactions, so a burst of logins never holds SQLite's write lock while
hashing. Failures that must be remembered (a failed login, a reused refresh token) are committed
first and reported to the caller afterwards, because raising inside the transaction would roll
the record back.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select, update

from services.kit.db import Database
from services.kit.errors import InvalidField, NotFound, Problem
from services.kit.ids import new_id
from services.kit.pii import PiiCipher
from services.kit.principal import unauthorized
from services.kit.types import utcnow
from services.registry.identity.accounts import PHONE_CONTEXT, add_account, phone_index
from services.registry.identity.config import IdentitySettings
from services.registry.identity.lockout import begin_attempt, fail_attempt
from services.registry.identity.models import Account, RefreshToken
from services.registry.identity.passwords import Passwords, needs_rehash, policy_violation
from services.registry.identity.problems import (
    account_disabled,
    account_locked,
    invalid_credentials,
    invalid_refresh_token,
)
from services.registry.identity.refresh_tokens import (
    add_refresh_token,
    locked_token,
    revoke_account_tokens,
    revoke_family,
)
from services.registry.identity.schemas import TokenPair
from services.registry.identity.tokens import RotatingTokenIssuer

log = logging.getLogger(__name__)

RefreshOutcome = Literal["ok", "invalid", "expired", "reused", "disabled"]


@dataclass
class IdentityService:
    """The identity operations of one running registry (``ctx.extras["identity"]``)."""

    db: Database
    cipher: PiiCipher
    passwords: Passwords
    issuer: RotatingTokenIssuer
    settings: IdentitySettings

    # --- Login -------------------------------------------------------------------------------

    async def login(self, phone: str, password: str) -> TokenPair:
        index = phone_index(self.cipher, phone)
        async with self.db.read() as session:
            account = await session.scalar(select(Account).where(Account.phone_index == index))
        account_id = account.id if account is not None else None
        if (retry := await begin_attempt(self.db, self.settings, index, account_id)) is not None:
            raise account_locked(retry)
        ok = await self.passwords.verify(account.password_hash if account else None, password)
        if not ok or account is None:
            retry = await fail_attempt(self.db, self.settings, index, account_id)
            log.info("login failed", extra={"account_id": str(account_id) if account_id else None})
            raise account_locked(retry) if retry is not None else invalid_credentials()
        rehashed = (
            await self.passwords.hash(password) if needs_rehash(account.password_hash) else None
        )
        refresh: tuple[RefreshToken, str] | None = None
        async with self.db.write() as session:
            current = await session.get(
                Account, account.id, with_for_update=True, populate_existing=True
            )
            if current is None:
                raise invalid_credentials()
            current.failed_attempts = 0
            current.locked_until = None
            if rehashed is not None:
                current.password_hash = rehashed
            if current.status == "active":
                current.last_login_at = utcnow()
                refresh = add_refresh_token(
                    session, current.id, new_id(), self.settings.refresh_token_ttl_seconds
                )
                # Expired tokens can no longer be used nor reused: forget them.
                await session.execute(
                    delete(RefreshToken).where(
                        RefreshToken.account_id == current.id,
                        RefreshToken.expires_at < current.last_login_at,
                    )
                )
        if refresh is None:
            raise account_disabled()
        log.info("login", extra={"account_id": str(current.id), "role": current.role})
        return self._token_pair(current, refresh)

    # --- Refresh tokens ----------------------------------------------------------------------

    def _token_pair(self, account: Account, refresh: tuple[RefreshToken, str]) -> TokenPair:
        access, lifetime = self.issuer.issue(
            subject=str(account.id), role=account.role, party_id=account.party_id
        )
        return TokenPair(
            access_token=access,
            expires_in=lifetime,
            refresh_token=refresh[1],
            refresh_expires_in=self.settings.refresh_token_ttl_seconds,
            role=account.role,  # type: ignore[arg-type]
            party_id=account.party_id,
        )

    async def refresh(self, token: str) -> TokenPair:
        """Rotate ``token``: mark it used and issue its successor in the same family."""
        now = utcnow()
        outcome: RefreshOutcome
        account: Account | None = None
        successor: tuple[RefreshToken, str] | None = None
        async with self.db.write() as session:
            row = await locked_token(session, token)
            if row is None or row.revoked_at is not None:
                outcome = "invalid"
            elif row.used_at is not None:
                # Already exchanged once: someone holds a copy. End the whole session.
                await revoke_family(session, row.family_id, "reuse", now)
                outcome = "reused"
            elif row.expires_at <= now:
                outcome = "expired"
            else:
                account = await session.get(Account, row.account_id)
                if account is None or account.status != "active":
                    await revoke_family(session, row.family_id, "disabled", now)
                    outcome = "disabled"
                else:
                    successor = add_refresh_token(
                        session, account.id, row.family_id, self.settings.refresh_token_ttl_seconds
                    )
                    row.used_at = now
                    row.replaced_by = successor[0].id
                    outcome = "ok"
        if outcome == "reused":
            log.warning(
                "refresh token reused; family revoked", extra={"account_id": str(row.account_id)}
            )
            raise invalid_refresh_token(
                "The refresh token was already used; the session has been ended for safety"
            )
        if outcome == "expired":
            raise invalid_refresh_token("The refresh token has expired")
        if outcome == "disabled":
            raise account_disabled()
        if outcome == "invalid":
            raise invalid_refresh_token()
        assert account is not None and successor is not None
        return self._token_pair(account, successor)

    async def logout(self, token: str) -> None:
        """Revoke the token's family. Unknown tokens are ignored (RFC 7009 behaviour)."""
        async with self.db.write() as session:
            row = await locked_token(session, token)
            if row is not None:
                await revoke_family(session, row.family_id, "logout", utcnow())

    # --- Passwords ---------------------------------------------------------------------------

    async def change_password(self, account_id: uuid.UUID, current: str, new: str) -> None:
        """Change the password and end every session (refresh token) of the account."""
        now = utcnow()
        async with self.db.read() as session:
            account = await session.get(Account, account_id)
        if account is None:
            raise unauthorized("The token's account no longer exists")
        if account.status != "active":
            raise account_disabled()
        phone = self.cipher.decrypt(account.phone_encrypted, context=PHONE_CONTEXT)
        if (problem := policy_violation(new, phone)) is not None:
            raise InvalidField("new_password", problem)
        if unicodedata.normalize("NFKC", new) == unicodedata.normalize("NFKC", current):
            raise InvalidField("new_password", "must differ from the current password")
        # Guessing the current password with a stolen access token counts like a failed login.
        retry = await begin_attempt(self.db, self.settings, account.phone_index, account.id)
        if retry is not None:
            raise account_locked(retry)
        if not await self.passwords.verify(account.password_hash, current):
            retry = await fail_attempt(self.db, self.settings, account.phone_index, account.id)
            if retry is not None:
                raise account_locked(retry)
            raise Problem(
                403,
                "wrong-password",
                "Wrong password",
                "current_password: is not correct",
                errors=[
                    {
                        "field": "current_password",
                        "loc": ["body", "current_password"],
                        "message": "is not correct",
                    }
                ],
            )
        new_hash = await self.passwords.hash(new)
        async with self.db.write() as session:
            await session.execute(
                update(Account)
                .where(Account.id == account.id)
                .values(
                    password_hash=new_hash,
                    password_changed_at=now,
                    failed_attempts=0,
                    locked_until=None,
                    updated_at=now,
                )
            )
            await revoke_account_tokens(session, account.id, "password_change", now)
        log.info("password changed", extra={"account_id": str(account.id)})

    # --- Accounts ----------------------------------------------------------------------------

    async def create_account(
        self,
        *,
        phone: str,
        password: str,
        role: str,
        party_id: uuid.UUID | None,
        display_name: str,
        created_by: str,
    ) -> Account:
        password_hash = await self.passwords.hash(password)
        async with self.db.write() as session:
            account = await add_account(
                session,
                self.cipher,
                phone=phone,
                password_hash=password_hash,
                role=role,
                party_id=party_id,
                display_name=display_name,
                created_by=created_by,
            )
        log.info("account created", extra={"account_id": str(account.id), "role": role})
        return account

    async def get_account(self, account_id: uuid.UUID) -> Account:
        async with self.db.read() as session:
            account = await session.get(Account, account_id)
        if account is None:
            raise NotFound("account", account_id)
        return account

    async def set_status(self, account_id: uuid.UUID, status: str) -> Account:
        """Enable or disable an account; disabling ends its sessions, enabling clears a lock."""
        now = utcnow()
        async with self.db.write() as session:
            account = await session.get(Account, account_id, with_for_update=True)
            if account is None:
                raise NotFound("account", account_id)
            account.status = status
            account.updated_at = now
            if status == "disabled":
                await revoke_account_tokens(session, account.id, "disabled", now)
            else:
                account.failed_attempts = 0
                account.locked_until = None
        log.info("account status", extra={"account_id": str(account_id), "status": status})
        return account

    def phone_of(self, account: Account) -> str:
        return self.cipher.decrypt(account.phone_encrypted, context=PHONE_CONTEXT)
