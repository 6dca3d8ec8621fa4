"""The gateway's own web pages (DESIGN.md §8): server-rendered Jinja2 templates, static assets
served by the gateway itself (no CDN), in zh-CN, zh-HK and English.

Modules: ``i18n`` (the words and the language choice), ``security`` (cookies, CSRF, headers),
``upstream`` (calls to the services through the gateway's client), ``render`` (templates and
responses), ``login``, ``dashboard`` + ``figures`` (officers), ``public`` (the brand's pages).
Page paths are listed in :data:`gateway.routes.PAGE_PATHS`; none is proxied, none needs a
bearer token (the pages use a cookie), none is in the OpenAPI document.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.staticfiles import StaticFiles

from gateway.auth import EdgeGuard
from gateway.proxy import Proxy
from gateway.web import dashboard, login, public
from gateway.web.deps import Web
from gateway.web.i18n import BadLanguage
from gateway.web.render import STATIC_DIR, bad_language_page
from gateway.web.upstream import Upstream
from services.kit.auth import TokenVerifier


def install_pages(
    app: FastAPI, proxy: Proxy, verifier: TokenVerifier, guard: EdgeGuard | None = None
) -> None:
    app.state.web = Web(Upstream(proxy), verifier, guard)
    for module in (public, login, dashboard):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    async def on_bad_language(request: Request, exc: Exception) -> object:
        assert isinstance(exc, BadLanguage)
        return bad_language_page(request, exc)

    app.add_exception_handler(BadLanguage, on_bad_language)  # type: ignore[arg-type]
