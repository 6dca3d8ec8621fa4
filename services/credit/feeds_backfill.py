"""``python -m services.credit backfill-feeds``: certificates, cards, credit levels and list
entries that existed before credit's feeds (migration ``ca_agency_feeds``) enter them once, as
``upsert`` entries of their current state (:mod:`services.kit.feed_backfill`). Revoked
certificates and ended list entries are left out (an agency never learns them as new)."""

from __future__ import annotations

from typing import Any

from services.credit.credentials.models import HomeServiceCard
from services.credit.feeds import FEEDS
from services.credit.files.models import CreditListEntry, CreditParty
from services.credit.models import Certificate
from services.kit.feed_backfill import Backfill, iso


def _only(dataset: str, record: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) for k, v in record.items() if k in FEEDS[dataset]}


def _certificate(c: Certificate) -> dict[str, Any] | None:
    if c.revoked_at is not None:
        return None
    return _only(
        "certificates",
        {
            "certificate_number": c.number,
            "kind": c.kind,
            "worker_id": c.worker_id,
            "track": c.track,
            "course_id": c.course_id,
            "enrollment_id": c.enrollment_id,
            "issued_at": c.issued_at,
            "valid_until": c.valid_until,
        },
    )


def _card(c: HomeServiceCard) -> dict[str, Any]:
    record = {
        "card_number": c.number,
        "worker_id": c.worker_id,
        "state": c.state,
        "issued_at": c.issued_at,
        "valid_until": c.valid_until,
        "by_exception": c.exception_reason is not None,
        "policy_version": c.policy_version,
        "changed_at": c.changed_at,
    }
    if c.state_reason:
        record["reason"] = c.state_reason
    return _only("cards", record)


def _level(p: CreditParty) -> dict[str, Any]:
    return _only(
        "credit-levels",
        {
            "party_kind": p.party_kind,
            "level": p.level,
            "previous_level": None,
            "score": p.score,
            "previous_score": None,
            "policy_version": p.policy_version,
            "changed_at": p.computed_at,
        },
    )


def _listing(e: CreditListEntry) -> dict[str, Any] | None:
    if e.ended_at is not None:
        return None
    return _only(
        "credit-lists",
        {
            "list_kind": e.list_kind,
            "party_id": e.party_id,
            "party_kind": e.party_kind,
            "basis": e.basis,
            "legal_basis": e.legal_basis,
            "starts_at": e.starts_at,
            "publish_until": e.publish_until,
            "policy_version": e.policy_version,
        },
    )


SOURCES: tuple[Backfill, ...] = (
    Backfill("certificates", Certificate, "id", _certificate),
    Backfill("cards", HomeServiceCard, "id", _card),
    Backfill("credit-levels", CreditParty, "party_id", _level),
    Backfill("credit-lists", CreditListEntry, "id", _listing),
)
