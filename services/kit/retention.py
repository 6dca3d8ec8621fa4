"""Retention of the kit's event bookkeeping: sent outbox rows and inbox rows are deleted by age.

Both tables would otherwise grow by a row per event forever. The outbox needs a sent row only
until the relay has marked it (JetStream's duplicate window covers a republish); the inbox
needs its row for as long as JetStream could still deliver that event again: a redelivery after
a lost ack comes within ``ack_wait`` while the consumer runs, or when a stopped consumer comes
back, so the period (``JIASAO_EVENT_RETENTION_DAYS``, default 7) must outlast any stop of a
consumer; it may not be shorter than the stream's duplicate window. Unsent and parked outbox
rows, and dead letters, are never deleted here.

The relay holding the outbox lease runs the purge, so one replica of a service does it.
Deletes go in bounded chunks so no transaction holds the tables for long.
"""

from __future__ import annotations

import time
from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, select, tuple_

from services.kit.bus import DUPLICATE_WINDOW_S
from services.kit.db import Database
from services.kit.tables import inbox, outbox
from services.kit.types import utcnow


class RetentionSettings(BaseSettings):
    """Platform-wide (prefix ``JIASAO_``): every service keeps its bookkeeping as long."""

    model_config = SettingsConfigDict(env_prefix="JIASAO_", extra="ignore")

    #: Days sent outbox rows and inbox rows are kept.
    event_retention_days: float = Field(default=7.0, gt=0)
    #: Seconds between purges.
    event_retention_interval: float = Field(default=3600.0, gt=0)

    @field_validator("event_retention_days")
    @classmethod
    def _outlasts_duplicate_window(cls, days: float) -> float:
        if days * 86400 < DUPLICATE_WINDOW_S:
            raise ValueError(
                f"event retention must be at least the duplicate window ({DUPLICATE_WINDOW_S} s)"
            )
        return days


class Retention:
    """Deletes sent outbox rows and inbox rows older than the retention period."""

    def __init__(
        self, db: Database, settings: RetentionSettings | None = None, *, chunk: int = 5000
    ) -> None:
        settings = settings or RetentionSettings()
        self.db = db
        self.period = timedelta(days=settings.event_retention_days)
        self.interval = settings.event_retention_interval
        self.chunk = chunk
        self._next = 0.0  # monotonic time of the next purge; the first one runs at once

    def due(self) -> bool:
        return time.monotonic() >= self._next

    async def purge(self) -> tuple[int, int]:
        """One purge now; returns (outbox rows, inbox rows) deleted."""
        self._next = time.monotonic() + self.interval
        cutoff = utcnow() - self.period
        sent = select(outbox.c.seq).where(
            outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff
        )
        seen = select(inbox.c.consumer, inbox.c.event_id).where(inbox.c.processed_at < cutoff)
        removed_outbox = removed_inbox = 0
        while True:
            async with self.db.write() as session:
                result = await session.execute(
                    delete(outbox).where(outbox.c.seq.in_(sent.limit(self.chunk)))
                )
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            removed_outbox += count
            if count < self.chunk:
                break
        key = tuple_(inbox.c.consumer, inbox.c.event_id)
        while True:
            async with self.db.write() as session:
                result = await session.execute(delete(inbox).where(key.in_(seen.limit(self.chunk))))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            removed_inbox += count
            if count < self.chunk:
                break
        return removed_outbox, removed_inbox
