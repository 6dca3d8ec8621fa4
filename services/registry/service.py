"""Compatibility re-export: party operations live in services.registry.parties (one module per
job: records, registration, profile, lifecycle, employment, companies, employers, partners,
consents)."""

from services.registry.parties.companies import (
    find_company_by_credit_code,
    register_company,
    register_institution,
)
from services.registry.parties.records import (
    ID_CARD_CONTEXT,
    PHONE_CONTEXT,
    find_worker_by_id_card,
    get_worker,
)
from services.registry.parties.registration import register_worker

__all__ = [
    "ID_CARD_CONTEXT",
    "PHONE_CONTEXT",
    "find_company_by_credit_code",
    "find_worker_by_id_card",
    "get_worker",
    "register_company",
    "register_institution",
    "register_worker",
]
