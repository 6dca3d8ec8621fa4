"""The edge: who is calling, whether the route needs a token, and whether they are over limit.

A request to a non-public route without a valid bearer token is refused here (401 with
``WWW-Authenticate``) and never reaches a service; a forged, expired or foreign token is
refused on every route. Each service still verifies and authorises for itself (DESIGN.md §4):
the gateway is a first wall, not the only one. Which routes are public is the gateway's table
(:data:`gateway.routes.PUBLIC_PATHS`), checked by a suite test against every service's declared
policies. Verified tokens are remembered until they expire (at most a minute), so a mobile
client's repeated calls cost one signature check, not one per request.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import jwt
from starlette.types import Scope

from gateway.ratelimit import RateLimiter
from gateway.routes import needs_token
from services.kit.auth import TokenVerifier
from services.kit.errors import Problem
from services.kit.principal import unauthorized

_RATE_POLICY = "per-client"
_API_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})


class EdgeGuard:
    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        authenticated: RateLimiter,
        anonymous: RateLimiter,
        trust_forwarded: bool = False,
        cache_size: int = 10_000,
    ) -> None:
        self.verifier = verifier
        self.authenticated = authenticated
        self.anonymous = anonymous
        self.trust_forwarded = trust_forwarded
        self.cache_size = cache_size
        # token → (valid until, rate-limit key)
        self._verified: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def problem_for(self, scope: Scope) -> Problem | None:
        """None when the request may pass; the 401 or 429 problem otherwise."""
        authorization: bytes | None = None
        forwarded_for: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-forwarded-for":
                forwarded_for = value
        caller: str | None = None
        if authorization is not None:
            scheme, _, token = authorization.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                result = await self._caller(token.strip())
                if isinstance(result, Problem):
                    return result
                caller = result
        # A method no route serves (TRACE, OPTIONS …) goes on to the service, which answers
        # 405 with the Allow it really has; it can do nothing there, token or not.
        served_method = scope["method"] in _API_METHODS
        if caller is None and served_method and needs_token(scope["method"], scope["path"]):
            return unauthorized("This resource needs 'Authorization: Bearer <token>'")
        if caller is not None:
            decision = self.authenticated.check(caller)
        else:
            decision = self.anonymous.check(f"ip:{self._address(scope, forwarded_for)}")
        if decision.allowed:
            return None
        return Problem(
            429,
            "too-many-requests",
            "Too many requests",
            f"Slow down: at most {decision.limit} requests a minute; retry in "
            f"{decision.retry_after} s",
            headers=decision.headers(_RATE_POLICY),
        )

    async def _caller(self, token: str) -> str | Problem:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None and cached[0] > now:
            self._verified.move_to_end(token)
            return cached[1]
        try:
            principal = await self.verifier.verify(token)
        except Problem as problem:
            self._verified.pop(token, None)
            return problem
        # Verified above, so its exp is trustworthy; remember a minute at most.
        exp = float(jwt.decode(token, options={"verify_signature": False}).get("exp", now))
        key = f"sub:{principal.role}:{principal.subject}"
        self._verified[token] = (min(exp, now + 60.0), key)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return key

    def client_address(self, scope: Scope) -> str:
        """The caller's address as the anonymous rate limit keys it (the web pages' POSTs
        are limited like token-less API calls)."""
        forwarded = next((v for k, v in scope["headers"] if k == b"x-forwarded-for"), None)
        return self._address(scope, forwarded)

    def _address(self, scope: Scope, forwarded_for: bytes | None) -> str:
        if self.trust_forwarded and forwarded_for:
            return forwarded_for.decode("latin-1").split(",")[0].strip()
        client = scope.get("client")
        return str(client[0]) if client else "unknown"
