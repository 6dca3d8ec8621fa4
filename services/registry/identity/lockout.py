"""Login lockout: failed-attempt counters of accounts and of unknown mobile numbers.

Every attempt takes a ticket (counts as a failure) *before* the password is checked, and a
success hands it back by resetting the count. So parallel guesses cannot outrun the counter:
once ``login_max_failures`` attempts are counted, the next is refused without hashing. Unknown
numbers are counted in login_throttles the same way. Each step commits on its own, so a failure
is remembered even though the caller then raises.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.dialect import dialect_insert
from services.kit.types import utcnow
from services.registry.identity.config import IdentitySettings
from services.registry.identity.models import Account, LoginThrottle

log = logging.getLogger(__name__)

#: Throttle rows of unknown phones are forgotten after a day without failures.
THROTTLE_RETENTION = timedelta(days=1)


def seconds_left(locked_until: datetime | None, now: datetime) -> int | None:
    """Seconds until the lock ends (at least 1), or None when not locked."""
    if locked_until is None or locked_until <= now:
        return None
    return max(1, math.ceil((locked_until - now).total_seconds()))


async def _attempt_row(
    session: AsyncSession,
    index: str,
    account_id: uuid.UUID | None,
    now: datetime,
) -> Account | LoginThrottle:
    if account_id is not None:
        account = await session.get(
            Account, account_id, with_for_update=True, populate_existing=True
        )
        if account is not None:
            return account
    await session.execute(
        dialect_insert(session, LoginThrottle)
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


async def begin_attempt(
    db: Database, settings: IdentitySettings, index: str, account_id: uuid.UUID | None
) -> int | None:
    """Count the attempt; returns the seconds to wait when the number is locked."""
    limit = settings.login_max_failures
    now = utcnow()
    async with db.write() as session:
        row = await _attempt_row(session, index, account_id, now)
        if row.locked_until is not None:
            if (retry := seconds_left(row.locked_until, now)) is not None:
                return retry
            row.locked_until = None  # the lock has run out: start counting afresh
            row.failed_attempts = 0
        if row.failed_attempts >= limit:  # that many attempts are still being checked
            row.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
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
            await session.execute(delete(LoginThrottle).where(LoginThrottle.phone_index.in_(stale)))
    return None


async def fail_attempt(
    db: Database, settings: IdentitySettings, index: str, account_id: uuid.UUID | None
) -> int | None:
    """The counted attempt failed: lock when it was the last one allowed. Returns the
    seconds to wait when the number is (now) locked."""
    now = utcnow()
    async with db.write() as session:
        row = await _attempt_row(session, index, account_id, now)
        if (retry := seconds_left(row.locked_until, now)) is not None:
            return retry
        if row.failed_attempts >= settings.login_max_failures:
            row.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
            if isinstance(row, Account):
                log.warning("account locked", extra={"account_id": str(row.id)})
            return seconds_left(row.locked_until, now)
    return None
