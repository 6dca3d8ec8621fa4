"""Matching's change feed for agencies (issue 14): hires.

A hire is an engagement: ``upsert`` when it starts (``matching.engagement.started``),
``correction`` when it finishes. Built from matching's own events (:mod:`services.kit.feed`,
appended with their outbox rows) and served at ``GET /api/v1/feeds/hires``
(:mod:`services.kit.feed_api`: scope ``feed:hires`` plus an agreement in force in matching's
read model of the registry's agreements, fields limited to the agreement's, pages signed,
exchanges in matching's audit chain). The poster's account id is never fed.

Open jobs stay a signed snapshot pull (``/api/v1/exchange/jobs``): matching publishes no job
events to build a jobs change feed from.
"""

from __future__ import annotations

from typing import Any

from contracts.matching import EngagementFinished, EngagementStarted
from services.kit import feed
from services.kit.feed import FeedSource
from services.kit.feed_api import feed_router

FEEDS: dict[str, tuple[str, ...]] = {
    "hires": (
        "job_id",
        "worker_id",
        "employer_id",
        "company_id",
        "track",
        "start_date",
        "started_at",
        "end_date",
        "finished_at",
    ),
}


def _hire(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in FEEDS["hires"] if k in data}


SOURCES: tuple[FeedSource, ...] = (
    FeedSource(EngagementStarted.event_type, "hires", "upsert", "engagement_id", _hire),
    FeedSource(EngagementFinished.event_type, "hires", "correction", "engagement_id", _hire),
)


def register_feeds() -> None:
    """Declare which matching events feed which dataset (idempotent)."""
    feed.register(*SOURCES)


router = feed_router(FEEDS)
