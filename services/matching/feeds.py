"""Matching's change feed for agencies (issue 14): hires.

A hire is an engagement: ``upsert`` when it starts (``matching.engagement.started``),
``correction`` when it finishes. Built from matching's own events (:mod:`services.kit.feed`,
appended with their outbox rows) and served at ``GET /api/v1/feeds/hires``
(:mod:`services.kit.feed_api`: scope ``feed:hires`` plus an agreement in force in matching's
read model of the registry's agreements, fields limited to the agreement's, pages signed,
exchanges in matching's audit chain). The poster's account id is never fed. Each page an
agency receives is recorded for the workers it names (``agency_worker_reads``: the worker's
``GET /api/v1/candidates/{id}/agency-reads``), with the audit entry's hash.

Open jobs stay a signed snapshot pull (``/api/v1/exchange/jobs``): matching publishes no job
events to build a jobs change feed from.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.matching import EngagementFinished, EngagementStarted
from services.kit import feed
from services.kit.feed import Entry, FeedSource
from services.kit.feed_api import feed_router
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching.recruitment.models import AgencyWorkerRead

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


async def record_agency_read(
    session: AsyncSession,
    principal: Principal,
    dataset: str,
    fields: list[str],
    entries: list[Entry],
    audit_hash: str,
) -> None:
    """One row per worker whose hire the agency's page carried (the worker's own view)."""
    if principal.party_id is None:
        return
    now = utcnow()
    workers = dict.fromkeys(e.record["worker_id"] for e in entries if "worker_id" in e.record)
    session.add_all(
        AgencyWorkerRead(
            id=new_id(),
            worker_id=uuid.UUID(worker),
            agency_id=principal.party_id,
            dataset=dataset,
            fields=fields,
            audit_hash=audit_hash,
            read_at=now,
        )
        for worker in workers
    )


router = feed_router(FEEDS, on_served=record_agency_read)
