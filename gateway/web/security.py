"""The pages' browser security: cookie flags, CSRF protection of the POST forms, and the
response headers every page carries (a Content-Security-Policy without inline scripts).

CSRF: a double-submit token. The form page sets a random token in an HttpOnly, SameSite=Strict
cookie and in a hidden field; a POST is accepted only when both are present and equal (compared
in constant time) and, when the browser sends an Origin, it is this site's. Another site can
neither read the cookie nor make the browser send it on a cross-site POST.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "jiasao_session"
REFRESH_COOKIE = "jiasao_refresh"
CSRF_COOKIE = "jiasao_csrf"
CSRF_FIELD = "csrf_token"
#: A year: the language choice is a preference, not a secret.
LANG_MAX_AGE = 365 * 24 * 3600

#: No inline script or style, nothing from elsewhere, no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_https(request: Request, trust_forwarded: bool) -> bool:
    """Whether the browser reached us over https (X-Forwarded-Proto only from a trusted
    proxy in front)."""
    if trust_forwarded:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto:
            return proto == "https"
    return request.url.scheme == "https"


@dataclass(frozen=True, slots=True)
class CookieFlags:
    secure: bool
    httponly: bool = True
    samesite: Literal["strict", "lax"] = "strict"
    path: str = "/"


def session_flags(request: Request, trust_forwarded: bool) -> CookieFlags:
    """The access token's cookie: HttpOnly, SameSite=Strict, Secure over https."""
    return CookieFlags(secure=is_https(request, trust_forwarded))


def set_cookie(
    response: Response, name: str, value: str, flags: CookieFlags, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=flags.path,
        secure=flags.secure,
        httponly=flags.httponly,
        samesite=flags.samesite,
    )


def clear_cookie(response: Response, name: str, flags: CookieFlags) -> None:
    response.delete_cookie(
        name, path=flags.path, secure=flags.secure, httponly=flags.httponly, samesite=flags.samesite
    )


def keep_tokens(response: Response, tokens: Mapping[str, Any], flags: CookieFlags) -> None:
    """The registry's token pair in HttpOnly, SameSite=Strict cookies, each for its lifetime."""
    set_cookie(response, SESSION_COOKIE, tokens["access_token"], flags, int(tokens["expires_in"]))
    set_cookie(
        response, REFRESH_COOKIE, tokens["refresh_token"], flags, int(tokens["refresh_expires_in"])
    )


def csrf_token(request: Request) -> str:
    """The token for a form: the browser's existing one, or a new one (set it with
    :func:`remember_csrf`)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if _well_formed(current) else secrets.token_urlsafe(32)


def remember_csrf(response: Response, token: str, flags: CookieFlags) -> None:
    set_cookie(response, CSRF_COOKIE, token, flags, max_age=None)


def _well_formed(token: str) -> bool:
    return 40 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


def same_origin(request: Request) -> bool:
    """False when the browser says the POST came from another origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def csrf_ok(request: Request, form: Mapping[str, str]) -> bool:
    """The double-submit check: cookie and field present, equal, well formed; same origin."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = form.get(CSRF_FIELD, "")
    if not (_well_formed(cookie) and _well_formed(field)):
        return False
    return hmac.compare_digest(cookie.encode(), field.encode()) and same_origin(request)
