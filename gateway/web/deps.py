"""What the page routes share: the upstream client and the token verifier, kept on the app."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from gateway.auth import EdgeGuard
from gateway.web.render import PageContext, page_context
from gateway.web.security import REFRESH_COOKIE
from gateway.web.upstream import Upstream, UpstreamUnavailable
from services.kit.auth import TokenVerifier
from services.kit.errors import Problem


@dataclass(frozen=True, slots=True)
class Web:
    upstream: Upstream
    verifier: TokenVerifier
    #: Page form POSTs (login, logout, nominate) count against the anonymous per-address
    #: limit, as token-less API calls do: no password spraying through the login page.
    guard: EdgeGuard | None = None

    def over_limit(self, request: Request) -> int | None:
        """Seconds to wait when this address is over the limit; None when it may go on."""
        if self.guard is None:
            return None
        decision = self.guard.anonymous.check(f"ip:{self.guard.client_address(request.scope)}")
        return None if decision.allowed else max(decision.retry_after, 1)

    async def context(self, request: Request) -> PageContext:
        """The page's language and caller; an expired session is renewed once with the
        refresh token (the registry rotates it; the new pair is set on the answer)."""
        ctx = await page_context(request, self.verifier)
        refresh = request.cookies.get(REFRESH_COOKIE)
        if ctx.user is not None or not refresh:
            return ctx
        try:
            answer = await self.upstream.post(
                "/api/v1/auth/refresh", lang=ctx.lang, json={"refresh_token": refresh[:200]}
            )
            if answer.ok:
                tokens = answer.json()
                ctx.user = await self.verifier.verify(tokens["access_token"])
                ctx.token = tokens["access_token"]
                ctx.renewed = tokens
        except (UpstreamUnavailable, Problem, KeyError, TypeError):
            pass  # stays signed out
        return ctx


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found
