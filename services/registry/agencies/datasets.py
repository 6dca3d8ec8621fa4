"""What may be exchanged with agencies: the datasets, their fields, and the scopes naming them.

Feed datasets are served as change feeds (``GET /api/v1/feeds/{dataset}``), built from the
registry's own events (:mod:`services.kit.feed`; the sources are registered here, so every
``publish`` of these events also appends to the feed in the same transaction). Import datasets
are files agencies send us, signed. A data-sharing agreement names datasets and, for each, the
fields the agency may receive or send; a token scope ``feed:<dataset>`` or
``import:<dataset>`` is granted only while an agreement naming the dataset is in force.
"""

from __future__ import annotations

from typing import Any

from contracts.registry import (
    CompanyRegistered,
    EmploymentChanged,
    InstitutionRegistered,
    WorkerRegistered,
    WorkerStatusChanged,
    WorkerUpdated,
)
from services.kit import feed
from services.kit.feed import FeedSource

#: Feed dataset → the fields an agreement may name (every one is masked or public already:
#: the feeds carry what the events carry, and the events carry no plaintext personal number).
FEED_DATASETS: dict[str, tuple[str, ...]] = {
    "workers": (
        "name",
        "gender",
        # No birth_date: beside id_card_masked it rebuilds 14 of the 18 digits (issue 16).
        "birth_year",
        "county",
        "id_card_masked",
        "phone_masked",
        "tracks",
        "languages",
        "status",
        "company_id",
        "education",
        "target_groups",
        "health_check_valid_until",
        "no_criminal_record_valid_until",
        "registered_at",
        "updated_at",
    ),
    "companies": ("name", "credit_code", "county", "kind", "honours", "registered_at"),
    "institutions": ("name", "credit_code", "county", "level", "tracks", "registered_at"),
}

#: Change feeds served by the services that own the data (credit: ``services/credit/feeds.py``;
#: matching: ``services/matching/feeds.py``; a test keeps the fields equal), at
#: ``GET /api/v1/feeds/<dataset>`` routed to them by the gateway. Each checks, at every read,
#: its read model of the agreements this service publishes (``registry.agreement.changed``).
SERVICE_FEED_DATASETS: dict[str, tuple[str, ...]] = {
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

#: The fields of a job exchanged with the public employment service platforms (both ways).
JOB_FIELDS: tuple[str, ...] = (
    "external_id",
    "title",
    "track",
    "duties",
    "city",
    "district",
    "live_in",
    "schedule",
    "pay_min",
    "pay_max",
    "pay_period",
    "languages",
    "certificate_required",
    "min_stars",
    "positions",
    "start_date",
    "expires_at",
)

#: Pulled from matching by the public employment service platforms (signed snapshots, not
#: change feeds; ``/api/v1/exchange/...``): open jobs, and available certified workers who
#: consented to be shared with the pulling agency. Scope ``feed:<dataset>``.
PULL_DATASETS: dict[str, tuple[str, ...]] = {
    "jobs": tuple(f for f in JOB_FIELDS if f != "external_id"),
    "available-workers": ("name", "county", "tracks", "languages", "stars", "certificates"),
}

#: Import dataset → the fields a file of it carries.
IMPORT_DATASETS: dict[str, tuple[str, ...]] = {
    # Civil affairs' list of people in a target group (poverty alleviation, 4050, ...).
    "target_groups": ("id_number", "target_group"),
    # A public employment service platform's jobs, imported as jobs in matching.
    "jobs-import": (*JOB_FIELDS, "status"),
}

DATASETS: dict[str, tuple[str, ...]] = {
    **FEED_DATASETS,
    **SERVICE_FEED_DATASETS,
    **PULL_DATASETS,
    **IMPORT_DATASETS,
}

#: Datasets whose scope is not ``feed:``/``import:`` + their name (a name can key one dataset
#: only, and jobs travel both ways).
_SCOPES: dict[str, str] = {"jobs-import": "import:jobs"}


def scope_of(dataset: str) -> str:
    if dataset in _SCOPES:
        return _SCOPES[dataset]
    return (
        f"feed:{dataset}"
        if dataset in FEED_DATASETS or dataset in SERVICE_FEED_DATASETS or dataset in PULL_DATASETS
        else f"import:{dataset}"
    )


AGENCY_SCOPES: tuple[str, ...] = tuple(scope_of(d) for d in DATASETS)


def _status(data: dict[str, Any]) -> dict[str, Any]:
    return {"status": data["to_status"], "updated_at": data["changed_at"]}


def _employment(data: dict[str, Any]) -> dict[str, Any]:
    return {"company_id": data["company_id"], "updated_at": data["changed_at"]}


def register_feeds() -> None:
    """Declare which registry events feed which dataset (idempotent)."""
    feed.register(
        FeedSource(WorkerRegistered.event_type, "workers", "upsert", "worker_id"),
        FeedSource(WorkerUpdated.event_type, "workers", "correction", "worker_id"),
        FeedSource(WorkerStatusChanged.event_type, "workers", "correction", "worker_id", _status),
        FeedSource(EmploymentChanged.event_type, "workers", "correction", "worker_id", _employment),
        FeedSource(CompanyRegistered.event_type, "companies", "upsert", "company_id"),
        FeedSource(InstitutionRegistered.event_type, "institutions", "upsert", "institution_id"),
    )


register_feeds()
