"""Identity operations: login with lockout, refresh-token families, password changes and
accounts (partner OAuth clients: :mod:`.clients`).

Slow work (argon2) happens outside database transactions, so a burst of logins never holds
SQLite's write lock while hashing. Failures that must be remembered (a failed login, a reused
refresh token) are committed first and reported to the caller afterwards, because raising
inside the transaction would roll the record back.
"""

from __future__ import annotations

import logging
import math
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.errors import Conflict, InvalidField, NotFound, Problem
from services.kit.idnumbers import mask_mobile
from services.kit.ids import new_id
from services.kit.pii import PiiCipher
from services.kit.principal import unauthorized
from services.kit.types import utcnow
from services.registry.identity.config import IdentitySettings
from services.registry.identity.models import Account, LoginThrottle, RefreshToken
from services.registry.identity.passwords import Passwords, needs_rehash, policy_violation
from services.registry.identity.schemas import TokenPair
from services.registry.identity.tokens import (
    RotatingTokenIssuer,
    new_refresh_token,
    refresh_token_hash,
)

log = logging.getLogger(__name__)

#: AEAD associated data and blind-index context of the account phone column.
PHONE_CONTEXT = "registry.account.phone"
#: Throttle rows of unknown phones are forgotten after a day without failures.
THROTTLE_RETENTION = timedelta(days=1)
CLIENT_ID_PREFIX = "jzp_"


# --- Problems --------------------------------------------------------------------------------


def invalid_credentials() -> Problem:
    # One message for an unknown phone and a wrong password: no account enumeration.
    return Problem(
        401,
        "invalid-credentials",
        "Login failed",
        "The mobile number or the password is wrong",
        headers={"WWW-Authenticate": 'Bearer realm="jiasao"'},
    )


def account_locked(retry_after: int) -> Problem:
    return Problem(
        429,
        "account-locked",
        "Account locked",
        f"Too many failed attempts; try again in {retry_after} seconds",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


def account_disabled() -> Problem:
    return Problem(403, "account-disabled", "Account disabled", "This account is disabled")


def invalid_refresh_token(detail: str = "The refresh token is not valid") -> Problem:
    return Problem(
        401,
        "invalid-refresh-token",
        "Refresh token refused",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="jiasao"'},
    )


def oauth_error(status: int, error: str, detail: str, field: str | None = None) -> Problem:
    """An RFC 6749 §5.2 error as problem+json; ``error`` carries the OAuth code."""
    headers = {"WWW-Authenticate": 'Basic realm="jiasao"'} if status == 401 else None
    errors = [{"field": field, "loc": [field], "message": detail}] if field else None
    return Problem(
        status,
        error.replace("_", "-"),
        "Token request refused",
        detail,
        errors=errors,
        headers=headers,
        error=error,
    )


def seconds_left(locked_until: datetime | None, now: datetime) -> int | None:
    """Seconds until the lock ends (at least 1), or None when not locked."""
    if locked_until is None or locked_until <= now:
        return None
    return max(1, math.ceil((locked_until - now).total_seconds()))


# --- Accounts --------------------------------------------------------------------------------


def phone_index(cipher: PiiCipher, phone: str) -> str:
    return cipher.blind_index(phone, context=PHONE_CONTEXT)


async def add_account(
    session: AsyncSession,
    cipher: PiiCipher,
    *,
    phone: str,
    password_hash: str,
    role: str,
    party_id: uuid.UUID | None,
    display_name: str,
    created_by: str | None,
) -> Account:
    """Insert an account (``phone`` already normalised by ``parse_mobile``); 409 if taken."""
    index = phone_index(cipher, phone)
    if await session.scalar(select(Account.id).where(Account.phone_index == index)):
        raise Conflict(
            "An account with this mobile number already exists", slug="duplicate-account"
        )
    now = utcnow()
    account = Account(
        id=new_id(),
        phone_index=index,
        phone_encrypted=cipher.encrypt(phone, context=PHONE_CONTEXT),
        phone_masked=mask_mobile(phone),
        password_hash=password_hash,
        role=role,
        party_id=party_id,
        display_name=display_name,
        status="active",
        failed_attempts=0,
        locked_until=None,
        password_changed_at=now,
        last_login_at=None,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await session.flush()
    return account


async def revoke_account_tokens(
    session: AsyncSession, account_id: uuid.UUID, reason: str, now: datetime
) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def revoke_family(
    session: AsyncSession, family_id: uuid.UUID, reason: str, now: datetime
) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


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
        if (retry := await self._begin_attempt(index, account_id)) is not None:
            raise account_locked(retry)
        ok = await self.passwords.verify(account.password_hash if account else None, password)
        if not ok or account is None:
            retry = await self._fail_attempt(index, account_id)
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
                refresh = self._add_refresh_token(session, current.id, new_id())
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

    # Lockout. Every attempt takes a ticket (counts as a failure) *before* the password is
    # checked, and a success hands it back by resetting the count. So parallel guesses cannot
    # outrun the counter: once ``login_max_failures`` attempts are counted, the next is refused
    # without hashing. Unknown numbers are counted in login_throttles the same way.

    async def _attempt_row(
        self, session: AsyncSession, index: str, account_id: uuid.UUID | None, now: datetime
    ) -> Account | LoginThrottle:
        if account_id is not None:
            account = await session.get(
                Account, account_id, with_for_update=True, populate_existing=True
            )
            if account is not None:
                return account
        dialect = sqlite if self.db.is_sqlite else postgresql
        await session.execute(
            dialect.insert(LoginThrottle)
            .values(phone_index=index, failed_attempts=0, locked_until=None, updated_at=now)
            .on_conflict_do_nothing(index_elements=[LoginThrottle.phone_index])
        )
        throttle = await session.scalar(
            select(LoginThrottle)
            .where(LoginThrottle.phone_index == index)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert throttle is not None
        throttle.updated_at = now
        return throttle

    async def _begin_attempt(self, index: str, account_id: uuid.UUID | None) -> int | None:
        """Count the attempt; returns the seconds to wait when the number is locked."""
        limit = self.settings.login_max_failures
        now = utcnow()
        async with self.db.write() as session:
            row = await self._attempt_row(session, index, account_id, now)
            if row.locked_until is not None:
                if (retry := seconds_left(row.locked_until, now)) is not None:
                    return retry
                row.locked_until = None  # the lock has run out: start counting afresh
                row.failed_attempts = 0
            if row.failed_attempts >= limit:  # that many attempts are still being checked
                row.locked_until = now + timedelta(seconds=self.settings.login_lockout_seconds)
                return seconds_left(row.locked_until, now)
            row.failed_attempts += 1
            if account_id is None:
                # Forget numbers not tried for a day; rows others hold are skipped, never
                # waited for, so two cleanups cannot deadlock.
                stale = (
                    select(LoginThrottle.phone_index)
                    .where(
                        LoginThrottle.updated_at < now - THROTTLE_RETENTION,
                        LoginThrottle.phone_index != index,
                    )
                    .limit(100)
                    .with_for_update(skip_locked=True)
                )
                await session.execute(
                    delete(LoginThrottle).where(LoginThrottle.phone_index.in_(stale))
                )
        return None

    async def _fail_attempt(self, index: str, account_id: uuid.UUID | None) -> int | None:
        """The counted attempt failed: lock when it was the last one allowed. Returns the
        seconds to wait when the number is (now) locked."""
        now = utcnow()
        async with self.db.write() as session:
            row = await self._attempt_row(session, index, account_id, now)
            if (retry := seconds_left(row.locked_until, now)) is not None:
                return retry
            if row.failed_attempts >= self.settings.login_max_failures:
                row.locked_until = now + timedelta(seconds=self.settings.login_lockout_seconds)
                if isinstance(row, Account):
                    log.warning("account locked", extra={"account_id": str(row.id)})
                return seconds_left(row.locked_until, now)
        return None

    # --- Refresh tokens ----------------------------------------------------------------------

    def _add_refresh_token(
        self, session: AsyncSession, account_id: uuid.UUID, family_id: uuid.UUID
    ) -> tuple[RefreshToken, str]:
        token = new_refresh_token()
        now = utcnow()
        row = RefreshToken(
            id=new_id(),
            account_id=account_id,
            family_id=family_id,
            token_hash=refresh_token_hash(token),
            issued_at=now,
            expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl_seconds),
        )
        session.add(row)
        return row, token

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
            row = await self._locked_token(session, token)
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
                    successor = self._add_refresh_token(session, account.id, row.family_id)
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
            row = await self._locked_token(session, token)
            if row is not None:
                await revoke_family(session, row.family_id, "logout", utcnow())

    async def _locked_token(self, session: AsyncSession, token: str) -> RefreshToken | None:
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
        if (retry := await self._begin_attempt(account.phone_index, account.id)) is not None:
            raise account_locked(retry)
        if not await self.passwords.verify(account.password_hash, current):
            if (retry := await self._fail_attempt(account.phone_index, account.id)) is not None:
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
