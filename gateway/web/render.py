"""Rendering a page: the Jinja2 environment (autoescaped), the request's language and signed-in
caller, and the HTML response with the security headers, Content-Language and the remembered
language cookie."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.web.i18n import (
    LANG_COOKIE,
    LANGUAGE_NAMES,
    BadLanguage,
    catalogue,
    choose_language,
    label,
    localised,
)
from gateway.web.security import (
    CSRF_COOKIE,
    LANG_MAX_AGE,
    PAGE_HEADERS,
    SESSION_COOKIE,
    CookieFlags,
    csrf_token,
    is_https,
    keep_tokens,
    remember_csrf,
    set_cookie,
)
from services.kit.auth import TokenVerifier
from services.kit.errors import Problem
from services.kit.principal import Principal

ECHARTS_VERSION = "6.1.0"
HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["ECHARTS_VERSION"] = ECHARTS_VERSION


@dataclass(slots=True)
class PageContext:
    """What every page knows about the request."""

    request: Request
    lang: str
    lang_from_query: bool
    user: Principal | None
    token: str | None
    https: bool
    #: A token pair the page got by refreshing an expired session (set as cookies on answer).
    renewed: dict[str, Any] | None = None

    @property
    def t(self) -> Any:
        return catalogue(self.lang)

    def switch_url(self, lang: str) -> str:
        """This page in another language (the other query parameters kept)."""
        params = [(k, v) for k, v in self.request.query_params.multi_items() if k != "lang"]
        params.append(("lang", lang))
        return f"{self.request.url.path}?{urlencode(params)}"

    def cookie_flags(self) -> CookieFlags:
        return CookieFlags(secure=self.https, samesite="lax")


async def page_context(request: Request, verifier: TokenVerifier) -> PageContext:
    """Language and caller of a page request; raises :class:`BadLanguage` for ``?lang=xx``."""
    trust = bool(request.app.state.settings.trust_forwarded_headers)
    query = request.query_params.get("lang")
    lang = choose_language(
        query, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    token = request.cookies.get(SESSION_COOKIE)
    user: Principal | None = None
    if token:
        try:
            user = await verifier.verify(token)
        except (Problem, jwt.PyJWTError):
            token = None  # expired or foreign: signed out
    return PageContext(
        request=request,
        lang=lang,
        lang_from_query=query is not None,
        user=user,
        token=token,
        https=is_https(request, trust),
    )


def render(
    ctx: PageContext,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    # Every page may show the sign-out form, so every page carries the form token.
    csrf = values.pop("csrf", None) or csrf_token(ctx.request)
    html = _env.get_template(template).render(
        csrf=csrf,
        lang=ctx.lang,
        t=ctx.t,
        ctx=ctx,
        languages=LANGUAGE_NAMES,
        user=ctx.user,
        loc=lambda value: localised(value, ctx.lang),
        label=lambda code: label(code, ctx.lang),
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    finish(ctx, response, headers)
    if ctx.request.cookies.get(CSRF_COOKIE) != csrf:
        remember_csrf(response, csrf, CookieFlags(secure=ctx.https))
    return response


def finish(ctx: PageContext, response: Any, headers: dict[str, str] | None = None) -> None:
    """Security headers, language, no caching of personal pages, the remembered language."""
    response.headers.update(PAGE_HEADERS)
    response.headers["Content-Language"] = ctx.lang
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Vary"] = "Accept-Language, Cookie"
    if ctx.https:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if headers:
        response.headers.update(headers)
    if ctx.lang_from_query:
        set_cookie(response, LANG_COOKIE, ctx.lang, ctx.cookie_flags(), max_age=LANG_MAX_AGE)
    if ctx.renewed is not None:
        keep_tokens(response, ctx.renewed, CookieFlags(secure=ctx.https))


def bad_language_page(request: Request, error: BadLanguage) -> HTMLResponse:
    """400 for ``?lang=`` of a language not offered, in the language the browser asks for."""
    trust = bool(request.app.state.settings.trust_forwarded_headers)
    lang = choose_language(
        None, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )
    ctx = PageContext(request, lang, False, None, None, is_https(request, trust))
    return render(
        ctx,
        "error.html",
        status=400,
        heading=ctx.t["bad_request_title"],
        message=f"{ctx.t['bad_language']} ({str(error)[:20]})",
    )
