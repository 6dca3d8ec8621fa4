"""Compatibility re-export: party operations live in services.registry.parties.service."""

from services.registry.parties.service import (
    ID_CARD_CONTEXT,
    PHONE_CONTEXT,
    find_company_by_credit_code,
    find_worker_by_id_card,
    get_worker,
    register_company,
    register_institution,
    register_worker,
)

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
