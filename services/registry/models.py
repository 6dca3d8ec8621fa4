"""Every registry table, imported here so ``Base.metadata`` (and so alembic) sees them all.

The tables live with their feature packages: ``parties/models.py`` (workers, organisations,
employment, consent) and ``identity/models.py`` (accounts, tokens, clients).
"""

from __future__ import annotations

# Agencies, their keys and data-sharing agreements register on Base:
from services.registry.agencies import models as agency_models  # noqa: F401
from services.registry.base import Base

# Bulk exchange tables (import jobs and their per-row reports) register on Base:
from services.registry.exchange import models as exchange_models  # noqa: F401

# Identity tables (accounts, refresh tokens, login throttles, OAuth clients) register on Base:
from services.registry.identity import models as identity_models  # noqa: F401
from services.registry.parties.models import (
    Company,
    Consent,
    Employer,
    Employment,
    Institution,
    Partner,
    Worker,
    WorkerStatusChange,
    WorkerTargetGroup,
    WorkerTrack,
)

__all__ = [
    "Base",
    "Company",
    "Consent",
    "Employer",
    "Employment",
    "Institution",
    "Partner",
    "Worker",
    "WorkerStatusChange",
    "WorkerTargetGroup",
    "WorkerTrack",
]
