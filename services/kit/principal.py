"""Who is calling: the verified identity every service authorises against.

Tokens are verified by :mod:`services.kit.auth`; this module holds only the resulting
:class:`Principal` and the FastAPI dependencies routes use, so domain code never touches JWTs.
"""

from __future__ import annotations

import typing
import uuid
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Request

from services.kit.errors import Problem

Role = Literal[
    "worker", "employer", "company", "institution", "officer", "partner", "agency", "admin"
]
ROLES: tuple[Role, ...] = typing.get_args(Role)
#: Machine clients (OAuth2 client credentials) that act by scopes, not by a person's role:
#: partner platforms and government agencies (whose scopes follow their data-sharing agreements).
SCOPED_ROLES: frozenset[Role] = frozenset({"partner", "agency"})


@dataclass(frozen=True)
class Principal:
    """A verified caller. People have a role; partner platforms have role "partner" + scopes,
    government agencies role "agency" + the scopes their data-sharing agreements grant."""

    subject: str  # account id for people, client id for partner platforms
    role: Role
    #: The party the account acts for: worker id, company id, institution id, employer id or
    #: partner id or agency id. None for officers and admins, who act for the programme.
    party_id: uuid.UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None

    @property
    def is_privileged(self) -> bool:
        """Officers and admins may see everything, including unmasked personal numbers."""
        return self.role in ("officer", "admin")

    def acts_for(self, party_id: uuid.UUID | None) -> bool:
        return party_id is not None and self.party_id == party_id

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


#: Where the verified principal is cached in the ASGI scope (one verification per request).
PRINCIPAL_SCOPE_KEY = "jiasao.principal"


def unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="jiasao"'},
    )


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Not allowed", detail)


async def current_principal(request: Request) -> Principal:
    """The caller, from ``Authorization: Bearer``; 401 problem when absent or invalid."""
    principal = await optional_principal(request)
    if principal is None:
        raise unauthorized("This endpoint needs a bearer token")
    return principal


async def optional_principal(request: Request) -> Principal | None:
    """The caller if a token was sent (an invalid token is still a 401, never anonymous)."""
    # Cached in the scope, which is per request (request.state may be shared under test
    # transports that reuse the lifespan state dict).
    cached = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    authorization = request.headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Use 'Authorization: Bearer <token>'")
    verifier = request.app.state.token_verifier
    principal: Principal = await verifier.verify(token.strip())
    request.scope[PRINCIPAL_SCOPE_KEY] = principal
    return principal
