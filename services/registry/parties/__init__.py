"""Parties: workers, employment, companies, institutions, employers, partners and consent.

``service`` holds the reusable domain operations (also used by the bulk importer), ``access``
every authorisation rule, ``schemas`` the validated input and output shapes, ``api``,
``consent`` and ``organisations`` the HTTP routes.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """The party routers, in the order the app includes them."""
    from services.registry.parties.api import router as workers
    from services.registry.parties.consent import router as consent
    from services.registry.parties.organisations import router as organisations

    return [workers, consent, organisations]
