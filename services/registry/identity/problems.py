"""The identity routes' and operations' refusals, as problem+json: failed logins, locked or
disabled accounts, refused refresh tokens, and OAuth token-request errors (RFC 6749 §5.2).
"""

from __future__ import annotations

from services.kit.errors import Problem


def invalid_credentials() -> Problem:
    # One message for an unknown phone and a wrong password: no account enumeration.
    return Problem(
        401,
        "invalid-credentials",
        "Login failed",
        "The mobile number or the password is wrong",
        headers={"WWW-Authenticate": 'Bearer realm="jiasao"'},
    )


def account_locked(retry_after: int) -> Problem:
    return Problem(
        429,
        "account-locked",
        "Account locked",
        f"Too many failed attempts; try again in {retry_after} seconds",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


def account_disabled() -> Problem:
    return Problem(403, "account-disabled", "Account disabled", "This account is disabled")


def invalid_refresh_token(detail: str = "The refresh token is not valid") -> Problem:
    return Problem(
        401,
        "invalid-refresh-token",
        "Refresh token refused",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="jiasao"'},
    )


def oauth_error(status: int, error: str, detail: str, field: str | None = None) -> Problem:
    """An RFC 6749 §5.2 error as problem+json; ``error`` carries the OAuth code."""
    headers = {"WWW-Authenticate": 'Basic realm="jiasao"'} if status == 401 else None
    errors = [{"field": field, "loc": [field], "message": detail}] if field else None
    return Problem(
        status,
        error.replace("_", "-"),
        "Token request refused",
        detail,
        errors=errors,
        headers=headers,
        error=error,
    )
