"""Matching's change feeds for agencies (issue 14): jobs and hires.

A job is an ``upsert`` when posted, a ``correction`` when it changes (content, paused, open
again) and a ``deletion`` when it leaves the board (filled, closed, expired), from
``matching.job.changed``; its fields are those the employment platforms' snapshot pull sends
(dataset ``jobs``, scope ``feed:jobs``: one agreement covers both). A hire is an engagement:
``upsert`` when it starts (``matching.engagement.started``), ``correction`` when it finishes.

Built from matching's own events (:mod:`services.kit.feed`, appended with their outbox rows)
and served at ``GET /api/v1/feeds/jobs`` and ``/hires`` (:mod:`services.kit.feed_api`: scope
``feed:<dataset>`` plus an agreement in force in matching's read model of the registry's
agreements, fields limited to the agreement's, pages signed, exchanges in matching's audit
chain). The poster is never fed. Each hires page an agency receives is recorded for the
workers it names (``agency_worker_reads``: the worker's ``GET /api/v1/candidates/{id}/
agency-reads``), with the audit entry's hash.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.matching import EngagementFinished, EngagementStarted, JobChanged
from services.kit import feed
from services.kit.feed import Entry, FeedSource, Op
from services.kit.feed_api import feed_router
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.types import utcnow
from services.matching.recruitment.api_exchange import JOB_FIELDS
from services.matching.recruitment.models import AgencyWorkerRead

FEEDS: dict[str, tuple[str, ...]] = {
    "jobs": JOB_FIELDS,
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


#: A job in these statuses is off the board for good or until it is reopened.
OFF_BOARD = ("filled", "closed", "expired")


def _job(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in JOB_FIELDS if k in data}


def _job_op(data: dict[str, Any]) -> Op:
    if data.get("status") in OFF_BOARD:
        return "deletion"
    return "upsert" if data.get("version") == 1 else "correction"


SOURCES: tuple[FeedSource, ...] = (
    FeedSource(JobChanged.event_type, "jobs", "upsert", "job_id", _job, op_of=_job_op),
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
