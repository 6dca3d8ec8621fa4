"""The relay lease: one row per lease name says which process may publish the outbox until when.

Expiry times are the *database's* clock (epoch seconds), compared by the database in the same
statement that takes the lease, so hosts whose clocks disagree still agree on who holds it.
Each process only measures durations on its own monotonic clock: the lease it took at local
time ``t`` is trusted until ``t + seconds`` (never longer than the database's own expiry, which
started counting after ``t``).

A standby that finds the lease held asks the database how long it has left and does not ask
again before then: commits in its own process wake it, but wake-ups before that moment cost
nothing, so a standby makes about two attempts per lease period, however busy it is.
"""

from __future__ import annotations

import time

from sqlalchemy import ColumnElement, Double, func, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from services.kit.db import Database
from services.kit.tables import relay_lease


def database_now(db: Database) -> ColumnElement[float]:
    """The database's current time in epoch seconds, as a SQL expression."""
    if db.is_sqlite:
        # julianday() has sub-millisecond precision; 2440587.5 is the Julian day of 1970-01-01.
        return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Double)
    # clock_timestamp(), not now(): now() is the transaction's start, which a long
    # transaction would leave behind.
    return func.extract("epoch", func.clock_timestamp()).cast(Double)


class Lease:
    """Take, renew and release one named lease for ``holder``."""

    def __init__(
        self, db: Database, name: str, holder: str, seconds: float, *, min_retry: float = 0.5
    ) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self.seconds = seconds
        self.min_retry = min_retry
        #: Round trips to the database to take or renew the lease (operators and tests count).
        self.attempts = 0
        self._until = 0.0  # local monotonic time until which the lease is surely ours
        self._retry_at = 0.0  # a standby's next attempt, local monotonic time

    @property
    def held(self) -> bool:
        return self._until > time.monotonic()

    async def hold(self) -> bool:
        """True while this holder has the lease; renews it when half of it is spent."""
        now = time.monotonic()
        if self._until - now > self.seconds / 2:
            return True  # still ours for a while: spare the database a write per pass
        if self._until <= now and now < self._retry_at:
            return False  # someone else holds it, and it cannot have lapsed yet
        self.attempts += 1
        acquired, remaining = await self._take()
        if acquired:
            self._until = now + self.seconds
            self._retry_at = 0.0
        else:
            self._until = 0.0
            self._retry_at = now + max(remaining, self.min_retry)
        return acquired

    async def _take(self) -> tuple[bool, float]:
        """Take or renew in the database; (acquired, seconds the other holder has left)."""
        now = database_now(self.db)
        async with self.db.write() as session:
            result = await session.execute(
                update(relay_lease)
                .where(relay_lease.c.name == self.name)
                .where((relay_lease.c.holder == self.holder) | (relay_lease.c.expires_at < now))
                .values(holder=self.holder, expires_at=now + self.seconds)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return True, 0.0
            remaining = await session.scalar(
                select(relay_lease.c.expires_at - now).where(relay_lease.c.name == self.name)
            )
            if remaining is not None:
                return False, float(remaining)
        try:
            async with self.db.write() as session:
                await session.execute(
                    insert(relay_lease).values(
                        name=self.name, holder=self.holder, expires_at=now + self.seconds
                    )
                )
            return True, 0.0
        except IntegrityError:
            return False, 0.0  # another relay inserted it first

    async def release(self) -> None:
        """Let a standby take over at once instead of waiting for the lease to lapse."""
        self._until = 0.0
        async with self.db.write() as session:
            await session.execute(
                update(relay_lease)
                .where(relay_lease.c.name == self.name)
                .where(relay_lease.c.holder == self.holder)
                .values(expires_at=0.0)
            )
