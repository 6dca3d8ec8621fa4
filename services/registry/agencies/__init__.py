"""Government agencies as parties of the exchange (issue 14).

- ``models``/``schemas``/``service``: agencies, their Ed25519 signing keys, their OAuth clients
  (in identity's ``oauth_clients`` with ``party_kind = agency``) and data-sharing agreements
- ``datasets``: what may be exchanged (feed and import datasets, their fields, their scopes)
  and which registry events feed which dataset
- ``api``: ``/api/v1/agencies`` …; ``feeds``: ``/api/v1/feeds/{dataset}``, the exchange keys,
  the audit log; ``imports``: signed imports from agencies; ``cli``: ``audit verify``

Agencies are OAuth2 client-credential principals with role ``agency`` and scopes
(``feed:workers``, ``import:target_groups`` …) granted only while an agreement naming the
dataset is in force; no other route admits them.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from services.registry.agencies.api import router as agencies
    from services.registry.agencies.feeds import router as feeds
    from services.registry.agencies.feeds import wellknown_router
    from services.registry.agencies.imports import router as imports

    return [agencies, feeds, imports, wellknown_router]
