"""What the page routes share: the upstream client and the token verifier, kept on the app."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from gateway.web.render import PageContext, page_context
from gateway.web.upstream import Upstream
from services.kit.auth import TokenVerifier


@dataclass(frozen=True, slots=True)
class Web:
    upstream: Upstream
    verifier: TokenVerifier

    async def context(self, request: Request) -> PageContext:
        return await page_context(request, self.verifier)


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found
