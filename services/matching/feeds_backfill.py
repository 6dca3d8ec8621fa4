"""``python -m services.matching backfill-feeds``: jobs and hires that existed before matching's
feeds enter them once, as ``upsert`` entries of their current state
(:mod:`services.kit.feed_backfill`). Jobs already off the board (filled, closed, expired) and
engagements that never started are left out."""

from __future__ import annotations

from typing import Any

from services.kit.feed_backfill import Backfill, iso
from services.matching.feeds import FEEDS, OFF_BOARD
from services.matching.recruitment.models import Engagement, Job


def _job(j: Job) -> dict[str, Any] | None:
    if j.status in OFF_BOARD:
        return None
    return {f: iso(getattr(j, f)) for f in FEEDS["jobs"]}


def _hire(e: Engagement) -> dict[str, Any] | None:
    if e.started_at is None:
        return None
    record = {f: iso(getattr(e, f)) for f in FEEDS["hires"] if f not in ("end_date", "finished_at")}
    if e.finished_at is not None:
        record.update(end_date=iso(e.end_date), finished_at=iso(e.finished_at))
    return record


SOURCES: tuple[Backfill, ...] = (
    Backfill("jobs", Job, "id", _job),
    Backfill("hires", Engagement, "id", _hire),
)
