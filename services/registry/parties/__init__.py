"""Parties: workers, employment, companies, institutions, employers, partners and consent.

Domain operations, one job per module (each runs in the caller's transaction, publishes its
events there and does not authorise; the bulk importer uses them too): ``records`` (lookups,
who acted), ``worker_fields``, ``registration``, ``profile``, ``lifecycle``, ``employment``,
``companies`` (and institutions), ``employers``, ``partners``, ``consents``. ``access`` holds
every authorisation rule, ``schemas`` the validated shapes (a module per kind of party),
``views`` the (masked) responses; ``api``, ``consent`` and ``organisations`` are the HTTP
routes. Imports run one way: routes → operations → records/worker_fields → models.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """The party routers, in the order the app includes them."""
    from services.registry.parties.api import router as workers
    from services.registry.parties.consent import router as consent
    from services.registry.parties.organisations import router as organisations

    return [workers, consent, organisations]
