"""The scopes partner platforms' OAuth clients may hold: the one place they are defined."""

from __future__ import annotations

import typing
from typing import Literal

PartnerScope = Literal[
    "jobs:read",
    "jobs:write",
    "candidates:read",
    "applications:write",
    "workers:read",
    "credit:read",
]
PARTNER_SCOPES: tuple[PartnerScope, ...] = typing.get_args(PartnerScope)
