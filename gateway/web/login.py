"""Signing in and out: phone + password to the registry's ``POST /api/v1/auth/login``; the
access token kept in an HttpOnly, SameSite=Strict cookie (Secure over https), the refresh token
likewise, so signing out ends the session at the registry too."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gateway.web.deps import Web, web
from gateway.web.forms import BadForm, local_path, read_form
from gateway.web.render import PageContext, finish, render
from gateway.web.security import (
    CSRF_COOKIE,
    REFRESH_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    csrf_ok,
    keep_tokens,
    session_flags,
)
from gateway.web.upstream import UpstreamUnavailable

STAFF_ROLES = frozenset({"officer", "admin"})

router = APIRouter(include_in_schema=False)


def login_page(
    ctx: PageContext,
    *,
    status: int = 200,
    error: str | None = None,
    phone: str = "",
    next_path: str | None = None,
) -> Response:
    next_path = local_path(next_path or ctx.request.query_params.get("next"), "/dashboard")
    return render(ctx, "login.html", status=status, error=error, phone=phone, next_path=next_path)


def _trust(ctx: PageContext) -> bool:
    return bool(ctx.request.app.state.settings.trust_forwarded_headers)


def too_many(app: Web, ctx: PageContext) -> Response | None:
    """429 with Retry-After when this address is over the anonymous limit."""
    wait = app.over_limit(ctx.request)
    if wait is None:
        return None
    return render(
        ctx,
        "error.html",
        status=429,
        headers={"Retry-After": str(wait)},
        heading=ctx.t["error_title"],
        message=ctx.t["too_many"],
    )


def csrf_refused(ctx: PageContext) -> Response:
    return render(
        ctx, "error.html", status=403, heading=ctx.t["forbidden_title"], message=ctx.t["csrf_text"]
    )


@router.get("/login")
async def login_form(request: Request) -> Response:
    ctx = await web(request).context(request)
    return login_page(ctx)


async def posted_form(app: Web, ctx: PageContext, request: Request) -> dict[str, str] | Response:
    """The fields of a POSTed page form, or the page that refuses it: over the rate limit
    (429), unreadable (400) or without its CSRF token (403)."""
    if (limited := too_many(app, ctx)) is not None:
        return limited
    try:
        form = await read_form(request)
    except BadForm as exc:
        return render(
            ctx, "error.html", status=400, heading=ctx.t["bad_request_title"], message=str(exc)
        )
    if not csrf_ok(request, form):
        return csrf_refused(ctx)
    return form


@router.post("/login")
async def login(request: Request) -> Response:
    app: Web = web(request)
    ctx = await app.context(request)
    form = await posted_form(app, ctx, request)
    if isinstance(form, Response):
        return form
    phone = form.get("phone", "").strip()[:40]
    password = form.get("password", "")
    try:
        answer = await app.upstream.post(
            "/api/v1/auth/login", lang=ctx.lang, json={"phone": phone, "password": password}
        )
    except UpstreamUnavailable:
        return login_page(
            ctx, status=503, error=ctx.t["unavailable"], phone=phone, next_path=form.get("next")
        )
    if answer.status in (423, 429):
        return login_page(
            ctx,
            status=answer.status,
            error=ctx.t["login_locked"],
            phone=phone,
            next_path=form.get("next"),
        )
    if not answer.ok:
        status = answer.status if answer.status in (400, 401, 422) else 502
        return login_page(
            ctx, status=status, error=ctx.t["login_failed"], phone=phone, next_path=form.get("next")
        )
    tokens = answer.json()
    default = "/dashboard" if tokens.get("role") in STAFF_ROLES else "/"
    target = local_path(form.get("next"), default)
    response = RedirectResponse(target, status_code=303)
    flags = session_flags(request, _trust(ctx))
    keep_tokens(response, tokens, flags)
    # A new form token after signing in (no token fixation across the login).
    clear_cookie(response, CSRF_COOKIE, flags)
    finish(ctx, response)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    form = await posted_form(app, ctx, request)
    if isinstance(form, Response):
        return form
    refresh = request.cookies.get(REFRESH_COOKIE)
    if refresh:
        try:
            await app.upstream.post(
                "/api/v1/auth/logout", lang=ctx.lang, json={"refresh_token": refresh[:200]}
            )
        except UpstreamUnavailable:
            pass  # the cookies go anyway; the refresh token then just expires
    response = RedirectResponse("/", status_code=303)
    flags = session_flags(request, _trust(ctx))
    for name in (SESSION_COOKIE, REFRESH_COOKIE, CSRF_COOKIE):
        clear_cookie(response, name, flags)
    finish(ctx, response)
    return response
