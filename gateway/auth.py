"""Token check at the edge: a request carrying a bearer token must carry a valid one.

The gateway refuses forged, expired or foreign tokens before they reach a service (each
service still verifies and authorises for itself — DESIGN.md §4). Requests without a token
pass through: some resources are public (certificate verification, JWKS, login). Verified
tokens are remembered until they expire, so a mobile client's repeated calls cost one
signature check, not one per request.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import jwt
from starlette.types import Scope

from services.kit.auth import TokenVerifier
from services.kit.errors import Problem


class EdgeTokenCheck:
    def __init__(self, verifier: TokenVerifier, cache_size: int = 10_000) -> None:
        self.verifier = verifier
        self.cache_size = cache_size
        self._valid_until: OrderedDict[str, float] = OrderedDict()

    async def problem_for(self, scope: Scope) -> Problem | None:
        """None when the request may pass; the 401 problem otherwise."""
        authorization: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
                break
        if authorization is None:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer":
            return None  # not ours to judge (e.g. HTTP Basic for the OAuth token endpoint)
        token = token.strip()
        now = time.time()
        expires = self._valid_until.get(token)
        if expires is not None and expires > now:
            self._valid_until.move_to_end(token)
            return None
        try:
            await self.verifier.verify(token)
        except Problem as problem:
            self._valid_until.pop(token, None)
            return problem
        # Verified above, so its exp is trustworthy; remember a minute at most.
        exp = float(jwt.decode(token, options={"verify_signature": False}).get("exp", now))
        self._valid_until[token] = min(exp, now + 60.0)
        if len(self._valid_until) > self.cache_size:
            self._valid_until.popitem(last=False)
        return None
