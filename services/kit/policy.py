"""Who may call a route, declared next to the route and enforced inside the service.

Every route of every service depends on exactly one policy from this module (DESIGN.md §6):

- :func:`public` — anyone; a token, if sent, must still be valid (never silently anonymous).
- :func:`allow` — the listed roles, and partner platforms or agencies holding *every* listed
  scope (a scope no partner can hold, such as ``feed:workers``, admits only agencies).
- :func:`authenticated` — any verified caller (the route then checks the record relation).
- :func:`operator` — platform operators (admin tokens) only: dead letters and other internals.

The dependency returns the verified :class:`Principal` (``None`` for an anonymous public call),
so the route authorises the *record* with the same object. Role checks answer 403, a missing
or invalid token 401 with ``WWW-Authenticate``. The same declarations produce each operation's
OpenAPI ``security`` (:func:`document_security`) and the suite test that fails for any route
without one (:func:`routes_without_policy`), so document, enforcement and tests cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from services.kit.principal import (
    ROLES,
    SCOPED_ROLES,
    Principal,
    Role,
    current_principal,
    forbidden,
    optional_principal,
)

PolicyKind = Literal["public", "roles", "authenticated", "operator"]

#: The programme's own staff, who may see and do nearly everything.
STAFF: tuple[Role, ...] = ("officer", "admin")

#: OpenAPI security scheme names.
BEARER_SCHEME = "bearerAuth"
PARTNER_SCHEME = "partnerOAuth"
#: Where partner platforms obtain tokens (client credentials), relative to the gateway.
PARTNER_TOKEN_URL = "/api/v1/auth/token"

_POLICY_ATTR = "__jiasao_policy__"
_CONVERTOR = re.compile(r":[A-Za-z_]+\}")


@dataclass(frozen=True)
class Policy:
    kind: PolicyKind
    #: People's roles allowed (kind "roles"); "partner" here admits any partner platform.
    roles: frozenset[Role] = frozenset()
    #: Partner scopes: a partner token passes a "roles" policy when it holds all of them.
    scopes: frozenset[str] = frozenset()

    def admits(self, principal: Principal | None) -> bool:
        if self.kind == "public":
            return True
        if principal is None:
            return False
        if self.kind == "authenticated":
            return True
        if self.kind == "operator":
            return principal.role == "admin"
        if principal.role in SCOPED_ROLES and principal.role not in self.roles:
            return bool(self.scopes) and self.scopes <= principal.scopes
        return principal.role in self.roles

    def describe(self) -> str:
        """One line for people reading the API document."""
        if self.kind == "public":
            return "Public: no token needed."
        if self.kind == "authenticated":
            return "Any signed-in caller; what they may see depends on who they are."
        if self.kind == "operator":
            return "Platform operators only (admin token)."
        who = ", ".join(sorted(self.roles)) or "nobody"
        if self.scopes:
            who += f"; partner platforms or agencies with scope {' '.join(sorted(self.scopes))}"
        return f"Allowed: {who}."


def _tagged(policy: Policy, dependency: Callable[..., Any]) -> Callable[..., Any]:
    setattr(dependency, _POLICY_ATTR, policy)
    dependency.__doc__ = policy.describe()
    return dependency


def public(*, endpoint_reads_authorization: bool = False) -> Callable[..., Any]:
    """Anyone may call; a token that is sent must be a valid bearer token (401 otherwise).

    ``endpoint_reads_authorization``: the header is the endpoint's own business and is not
    looked at here — the OAuth token endpoint receives client credentials as ``Basic``
    (RFC 6749 §2.3.1) and answers a wrong scheme in RFC 6749's error format itself.
    """

    async def public_caller(request: Request) -> Principal | None:
        if endpoint_reads_authorization:
            return None
        return await optional_principal(request)

    return _tagged(Policy("public"), public_caller)


def authenticated() -> Callable[..., Any]:
    """Any verified caller; the route decides per record."""

    async def authenticated_caller(request: Request) -> Principal:
        return await current_principal(request)

    return _tagged(Policy("authenticated"), authenticated_caller)


def allow(*roles: Role, scopes: Iterable[str] = ()) -> Callable[..., Any]:
    """The listed roles; partner platforms only with every one of ``scopes``."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    policy = Policy("roles", frozenset(roles), frozenset(scopes))
    if not policy.roles and not policy.scopes:
        raise ValueError("allow() needs at least one role or scope")

    async def allowed_caller(request: Request) -> Principal:
        principal = await current_principal(request)
        if not policy.admits(principal):
            if principal.role in SCOPED_ROLES and policy.scopes:
                missing = policy.scopes - principal.scopes
                raise forbidden(f"Missing scope: {' '.join(sorted(missing))}")
            raise forbidden(f"Role {principal.role} may not do this")
        return principal

    return _tagged(policy, allowed_caller)


def operator() -> Callable[..., Any]:
    """Operators (admin tokens) only."""
    policy = Policy("operator")

    async def operator_caller(request: Request) -> Principal:
        principal = await current_principal(request)
        if not policy.admits(principal):
            raise forbidden("Only platform operators may do this")
        return principal

    return _tagged(policy, operator_caller)


# --- Reading the declarations back -------------------------------------------------------------


def _policies(dependant: Dependant) -> Iterator[Policy]:
    for dependency in dependant.dependencies:
        policy = getattr(dependency.call, _POLICY_ATTR, None)
        if isinstance(policy, Policy):
            yield policy
        yield from _policies(dependency)


def api_routes(app: FastAPI) -> Iterator[tuple[str, frozenset[str], Dependant | None]]:
    """(path, methods, dependant) of every API route, with its routers' dependencies; paths as
    the OpenAPI document writes them (``{worker_id:uuid}`` → ``{worker_id}``)."""
    # FastAPI (0.16x) keeps included routers whole; their effective routes carry the
    # include-time prefix and dependencies.
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            path = _CONVERTOR.sub("}", context.path)
            yield path, frozenset(context.methods or ()), context.dependant


def policy_from(dependant: Dependant | None) -> Policy | None:
    """The single policy a route depends on; None when it declares none (or, wrongly, several)."""
    found = set(_policies(dependant)) if dependant is not None else set()
    return found.pop() if len(found) == 1 else None


def routes_without_policy(app: FastAPI) -> list[str]:
    """``METHOD path`` of every API route that declares no policy or more than one."""
    return sorted(
        f"{method} {path}"
        for path, methods, dependant in api_routes(app)
        if policy_from(dependant) is None
        for method in methods
    )


def route_policies(app: FastAPI) -> dict[tuple[str, str], Policy]:
    """(method, path) → policy for every API route that declares one."""
    table = {}
    for path, methods, dependant in api_routes(app):
        if (policy := policy_from(dependant)) is not None:
            for method in methods:
                table[(method, path)] = policy
    return table


# --- OpenAPI -----------------------------------------------------------------------------------


def security_requirement(policy: Policy) -> list[dict[str, list[str]]]:
    """The OpenAPI ``security`` of an operation under ``policy`` (``[]`` = no token needed)."""
    if policy.kind == "public":
        return []
    requirement: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
    if policy.kind == "roles" and policy.scopes:
        requirement.append({PARTNER_SCHEME: sorted(policy.scopes)})
    return requirement


def security_schemes(scopes: Iterable[str]) -> dict[str, Any]:
    return {
        BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token from POST /api/v1/auth/login (people) or "
            "POST /api/v1/auth/token (partner platforms); EdDSA-signed, 15 minutes.",
        },
        PARTNER_SCHEME: {
            "type": "oauth2",
            "description": "Partner platforms: OAuth2 client credentials.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": PARTNER_TOKEN_URL,
                    "scopes": {scope: f"Partner scope {scope}" for scope in sorted(set(scopes))},
                }
            },
        },
    }


def document_security(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Write each operation's ``security`` and ``x-jiasao-policy`` from its declared policy."""
    scopes: set[str] = set()
    paths = schema.get("paths", {})
    for (method, path), policy in route_policies(app).items():
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:
            continue
        operation["security"] = security_requirement(policy)
        operation["x-jiasao-policy"] = {
            "kind": policy.kind,
            "roles": sorted(policy.roles),
            "scopes": sorted(policy.scopes),
        }
        scopes |= policy.scopes
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(security_schemes(scopes))
    return schema
