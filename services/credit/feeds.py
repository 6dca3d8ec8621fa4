"""Credit's change feeds for agencies (issue 14): certificates, cards, credit levels and lists.

Built from credit's own events (:mod:`services.kit.feed`: every ``publish`` of these events
appends the feed entry in the same transaction) and served at ``GET /api/v1/feeds/<dataset>``
(:mod:`services.kit.feed_api`: scope ``feed:<dataset>`` plus an agreement in force in
credit's read model of the registry's agreements, fields limited to the agreement's, pages
signed, exchanges in credit's own audit chain).

The datasets and fields here are the ones the registry's catalogue lets an agreement name
(``services.registry.agencies.datasets.SERVICE_FEED_DATASETS``; a test keeps them equal).

Each page an agency receives is also written to the workers' credit access log (the "who read
my credit data" view, ``GET /api/v1/workers/{id}/credit/access-log``): one row per worker whose
certificate, card, level or list entry the page carried, with reader role ``agency``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.credit import (
    CardIssued,
    CardStatusChanged,
    CertificateIssued,
    CreditLevelChanged,
    CreditListEntryAdded,
    CreditListEntryRemoved,
)
from services.credit.models import CreditAccessLog
from services.kit import feed
from services.kit.feed import Entry, FeedSource, Op
from services.kit.feed_api import feed_router
from services.kit.ids import new_id
from services.kit.principal import Principal
from services.kit.types import utcnow

FEEDS: dict[str, tuple[str, ...]] = {
    "certificates": (
        "certificate_number",
        "kind",
        "worker_id",
        "track",
        "course_id",
        "enrollment_id",
        "issued_at",
        "valid_until",
    ),
    "cards": (
        "card_number",
        "worker_id",
        "state",
        "colour",
        "reason",
        "issued_at",
        "valid_until",
        "by_exception",
        "policy_version",
        "changed_at",
    ),
    "credit-levels": (
        "party_kind",
        "level",
        "previous_level",
        "score",
        "previous_score",
        "policy_version",
        "changed_at",
    ),
    "credit-lists": (
        "list_kind",
        "party_id",
        "party_kind",
        "basis",
        "legal_basis",
        "starts_at",
        "publish_until",
        "policy_version",
        "ended_at",
        "end_reason",
    ),
}


def _card_issued(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "card_number": data["card_number"],
        "worker_id": data["worker_id"],
        "state": "active",
        "issued_at": data["issued_at"],
        "valid_until": data["valid_until"],
        "by_exception": data["by_exception"],
        "policy_version": data["policy_version"],
    }


def _level_op(data: dict[str, Any]) -> Op:
    """A party's first level is a new record; each recomputation corrects it."""
    return "upsert" if data.get("previous_level") is None else "correction"


SOURCES: tuple[FeedSource, ...] = (
    FeedSource(CertificateIssued.event_type, "certificates", "upsert", "certificate_id"),
    FeedSource(CardIssued.event_type, "cards", "upsert", "card_id", _card_issued),
    FeedSource(CardStatusChanged.event_type, "cards", "correction", "card_id"),
    FeedSource(
        CreditLevelChanged.event_type, "credit-levels", "upsert", "party_id", op_of=_level_op
    ),
    FeedSource(CreditListEntryAdded.event_type, "credit-lists", "upsert", "entry_id"),
    FeedSource(CreditListEntryRemoved.event_type, "credit-lists", "deletion", "entry_id"),
)


def register_feeds() -> None:
    """Declare which credit events feed which dataset (idempotent)."""
    feed.register(*SOURCES)


#: The access log's word for what each feed carries about a worker.
RESOURCES = {
    "certificates": "certificate",
    "cards": "card",
    "credit-levels": "credit",
    "credit-lists": "credit_file",
}


def _worker_of(dataset: str, entry: Entry) -> str | None:
    if dataset in ("certificates", "cards"):
        worker = entry.record.get("worker_id")
        return worker if isinstance(worker, str) else None
    if entry.record.get("party_kind") != "worker":
        return None
    return entry.record.get("party_id") or entry.record_id


async def log_agency_read(
    session: AsyncSession,
    principal: Principal,
    dataset: str,
    fields: list[str],
    entries: list[Entry],
    audit_hash: str,
) -> None:
    """One access-log row per worker whose data the agency's page carried."""
    now = utcnow()
    per_worker: Counter[str] = Counter()
    certificates: dict[str, str] = {}
    for entry in entries:
        worker = _worker_of(dataset, entry)
        if worker is None:
            continue
        per_worker[worker] += 1
        if dataset == "certificates":
            certificates[worker] = entry.record_id
    for worker, count in per_worker.items():
        one = certificates.get(worker) if count == 1 else None
        resource = RESOURCES[dataset]
        if dataset == "certificates" and count > 1:
            resource = "certificates"
        session.add(
            CreditAccessLog(
                id=new_id(),
                worker_id=uuid.UUID(worker),
                reader_role=principal.role,
                reader_party_id=principal.party_id,
                reader_subject=principal.subject[:128],
                resource=resource,
                certificate_id=uuid.UUID(one) if one is not None else None,
                items=count,
                read_at=now,
            )
        )


router = feed_router(FEEDS, on_served=log_agency_read)
