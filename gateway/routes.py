"""The routing table: public path → owning service.

Paths are grouped by resource, never by service name, so a service can be split or merged by
editing this table alone. Order matters: the first matching pattern wins, so per-worker
sub-resources owned by other services come before the registry's ``/workers`` prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.statistics import TOPIC_OWNERS


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    service: str


def _table(*rows: tuple[str, str]) -> tuple[Route, ...]:
    return tuple(Route(re.compile(pattern), service) for pattern, service in rows)


def _statistics_rows() -> list[tuple[str, str]]:
    """One row per service answering statistics, from the contract's table (cannot drift)."""
    topics: dict[str, list[str]] = {}
    for topic, service in TOPIC_OWNERS.items():
        topics.setdefault(service, []).append(re.escape(topic))
    return [
        (rf"^/api/v1/statistics/({'|'.join(names)})$", service) for service, names in topics.items()
    ]


ROUTES: tuple[Route, ...] = _table(
    (r"^/api/v1/workers/[^/]+/certificates(/|$)", "credit"),
    (r"^/api/v1/workers/[^/]+/credit(/|$)", "credit"),
    (r"^/api/v1/workers/[^/]+/rating(/|$)", "rating"),
    # Change feeds served by the services owning the data (the registry serves the others).
    (r"^/api/v1/feeds/(certificates|cards|credit-levels|credit-lists)$", "credit"),
    (r"^/api/v1/feeds/(jobs|hires)$", "matching"),
    (
        r"^/api/v1/(workers|companies|institutions|employers|partners|accounts|auth"
        r"|imports|exports|me|agencies|feeds)(/|$)",
        "registry",
    ),
    (r"^/\.well-known/(exchange-)?jwks\.json$", "registry"),
    (
        r"^/api/v1/(courses|enrollments|competitions|subsidies|skills-records|apprenticeships"
        r"|training-bases|ventures)(/|$)",
        "training",
    ),
    (
        r"^/api/v1/(certificates|credit-files|credit-policies|credit-complaints|credit-repairs"
        r"|blacklist|redlist|insurance)(/|$)",
        "credit",
    ),
    (r"^/api/v1/(cards|credentials|verifications)(/|$)", "credit"),
    (r"^/\.well-known/did\.json$", "credit"),
    (r"^/verify/[^/]+$", "credit"),
    (r"^/api/v1/(ratings|assessments)(/|$)", "rating"),
    (r"^/api/v1/brand(/|$)", "rating"),
    (
        r"^/api/v1/(candidates|jobs|applications|engagements|fairs|webhooks|match-policy"
        r"|exchange)(/|$)",
        "matching",
    ),
    *_statistics_rows(),
)


@dataclass(frozen=True, slots=True)
class PublicPath:
    """A path some methods of which need no token; ``token_methods`` are the other methods
    served there. Any method served at neither is left to the service, which answers 405
    with its real ``Allow`` (a 401 would claim the method exists)."""

    pattern: re.Pattern[str]
    public_methods: frozenset[str]
    token_methods: frozenset[str] = frozenset()


def _public(pattern: str, public: set[str], token: set[str] | None = None) -> PublicPath:
    return PublicPath(re.compile(pattern), frozenset(public), frozenset(token or ()))


#: The paths with routes that need no token. Everything else is refused at the edge without a
#: valid bearer token. A suite test (tests/test_route_policies.py) checks this table against
#: the policies and methods the services declare, both ways.
PUBLIC_PATHS: tuple[PublicPath, ...] = (
    _public(r"^/api/v1/auth/(login|refresh|logout|token)$", {"POST"}),
    _public(r"^/\.well-known/(exchange-)?jwks\.json$", {"GET"}),
    _public(r"^/api/v1/courses$", {"GET"}, {"POST"}),
    _public(r"^/api/v1/courses/[^/]+$", {"GET"}),
    _public(r"^/api/v1/courses/[^/]+/(rules|sessions)$", {"GET"}, {"POST"}),
    _public(
        r"^/api/v1/(subsidies|competitions|training-bases|apprenticeships|ventures)/policy$",
        {"GET"},
        {"POST"},
    ),
    _public(r"^/api/v1/competitions$", {"GET"}, {"POST"}),
    _public(r"^/api/v1/competitions/[^/]+$", {"GET"}),
    _public(r"^/api/v1/competitions/[^/]+/entries$", {"GET"}, {"POST"}),
    _public(r"^/api/v1/training-bases$", {"GET"}, {"POST"}),
    _public(r"^/api/v1/training-bases/(?!report$)[^/]+$", {"GET"}),
    _public(r"^/api/v1/verifications/certificates/[^/]+$", {"GET"}),
    _public(r"^/api/v1/(redlist|blacklist)$", {"GET"}),
    _public(r"^/\.well-known/did\.json$", {"GET"}),
    _public(r"^/api/v1/credentials/(issuer|status-lists/[^/]+/[^/]+)$", {"GET"}),
    _public(r"^/api/v1/verifications/cards/[^/]+$", {"GET"}),
    _public(r"^/verify/[^/]+$", {"GET"}),
    _public(r"^/api/v1/brand/cases$", {"GET"}, {"POST"}),
    _public(r"^/api/v1/brand/cases/[^/]+$", {"GET"}),
    _public(r"^/api/v1/brand/cases/[^/]+/photo$", {"GET"}, {"PUT"}),
    _public(r"^/api/v1/brand/(skill-masters|top-companies|counties)$", {"GET"}),
)


def _public_path(path: str) -> PublicPath | None:
    return next((p for p in PUBLIC_PATHS if p.pattern.match(path)), None)


def is_public(method: str, path: str) -> bool:
    """Whether ``method path`` may be called without a token (HEAD as GET)."""
    method = "GET" if method == "HEAD" else method
    found = _public_path(path)
    return found is not None and method in found.public_methods


def needs_token(method: str, path: str) -> bool:
    """Whether the edge refuses ``method path`` without a token: every served method of every
    path but the public ones; a method a public path does not serve goes on (405 there)."""
    method = "GET" if method == "HEAD" else method
    found = _public_path(path)
    if found is None:
        return True
    return method in found.token_methods


# Every pattern starts with one of these; checking them first keeps non-API paths cheap.
_PREFIXES = ("/api/v1/", "/.well-known/", "/verify/")
# "." or ".." as a whole segment: never forwarded, so nobody can walk out of a routed prefix.
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")


def resolve(path: str, routes: tuple[Route, ...] = ROUTES) -> str | None:
    """The service owning ``path``, or None (the gateway then answers 404 itself)."""
    if not path.startswith(_PREFIXES):
        return None
    if "/." in path and _DOT_SEGMENT.search(path):
        return None
    for route in routes:
        if route.pattern.match(path):
            return route.service
    return None


#: The gateway's own web pages (gateway.web): answered by the gateway itself, never proxied
#: (none starts with a routed prefix), never in the OpenAPI document, and needing no bearer
#: token (a page reads its caller from the session cookie and passes the token on to the
#: services, which authorise as for any client). A suite test checks every page route of the
#: gateway app matches one of these and that none resolves to a service.
PAGE_PATHS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r"^/$",
        r"^/(login|logout|nominate|card-check)$",
        r"^/(cases|model-workers|skill-masters|redlist|top-companies|counties)$",
        r"^/cases/[^/]+$",
        r"^/dashboard$",
        r"^/dashboard/figures/[^/]+/[^/]+\.csv$",
        r"^/static/.+$",
    )
)


def is_page(path: str) -> bool:
    """Whether ``path`` is one of the gateway's own web pages (or their static assets)."""
    return resolve(path) is None and any(p.match(path) for p in PAGE_PATHS)
