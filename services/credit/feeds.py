"""Credit's change feeds for agencies (issue 14): certificates, cards, credit levels and lists.

Built from credit's own events (:mod:`services.kit.feed`: every ``publish`` of these events
appends the feed entry in the same transaction) and served at ``GET /api/v1/feeds/<dataset>``
(:mod:`services.kit.feed_api`: scope ``feed:<dataset>`` plus an agreement in force in
credit's read model of the registry's agreements, fields limited to the agreement's, pages
signed, exchanges in credit's own audit chain).

The datasets and fields here are the ones the registry's catalogue lets an agreement name
(``services.registry.agencies.datasets.SERVICE_FEED_DATASETS``; a test keeps them equal).
"""

from __future__ import annotations

from typing import Any

from contracts.credit import (
    CardIssued,
    CardStatusChanged,
    CertificateIssued,
    CreditLevelChanged,
    CreditListEntryAdded,
    CreditListEntryRemoved,
)
from services.kit import feed
from services.kit.feed import FeedSource, Op
from services.kit.feed_api import feed_router

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


router = feed_router(FEEDS)
