"""RFC 9457 problem+json for every error a service or the gateway answers.

Each problem has a stable ``type`` URI (``https://jiasao.gov.cn/problems/<slug>``), a title,
the HTTP status, a detail for people and the request id, so a client can quote it to support.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.kit.allow import allowed_methods
from services.kit.i18n import language_var
from services.kit.i18n import title as translated_title
from services.kit.logging import request_id_var
from services.kit.validation_messages import INVALID_FIELDS, INVALID_REQUEST
from services.kit.validation_messages import message as translated_message

PROBLEM_BASE = "https://jiasao.gov.cn/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger(__name__)

_STATUS_SLUGS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    408: ("request-timeout", "Request timeout"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid input"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal error"),
    502: ("bad-gateway", "Bad gateway"),
    503: ("service-unavailable", "Service unavailable"),
    504: ("gateway-timeout", "Gateway timeout"),
}


class Problem(Exception):
    """Raise from domain or API code to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extensions = extensions


class NotFound(Problem):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(404, "not-found", f"{what} not found", f"No {what} with id {ident}")


class Conflict(Problem):
    def __init__(self, detail: str, slug: str = "conflict", **extensions: Any) -> None:
        super().__init__(409, slug, "Conflict", detail, **extensions)


class InvalidField(Problem):
    """A 422 naming one field, for checks pydantic cannot express (check digits, rules)."""

    def __init__(self, field: str | list[str | int], message: str, slug: str = "validation-error"):
        loc = [field] if isinstance(field, str) else field
        super().__init__(
            422,
            slug,
            "Invalid input",
            f"{'.'.join(str(p) for p in loc)}: {message}",
            errors=[{"field": ".".join(str(p) for p in loc), "loc": loc, "message": message}],
        )


def problem_body(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": translated_title(slug, title, _STATUS_SLUGS.get(status, ("bad-request",))[0]),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if (request_id := request_id_var.get()) is not None:
        body["request_id"] = request_id
    body.update({k: v for k, v in extensions.items() if v is not None})
    return body


def problem_response(
    status: int,
    slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    default_slug, default_title = _STATUS_SLUGS.get(status, ("error", "Error"))
    return JSONResponse(
        problem_body(
            status, slug or default_slug, title or default_title, detail, instance, **extensions
        ),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    language = language_var.get()
    for error in exc.errors():
        # Name the field as the client wrote it: drop FastAPI's "body"/"query"/"path" prefix.
        full = list(error.get("loc", ()))
        loc = full[1:] if full and full[0] in ("body", "query", "path", "header") else full
        errors.append(
            {
                "field": ".".join(str(p) for p in loc),
                "loc": list(error.get("loc", ())),
                "message": translated_message(
                    error.get("type", "invalid"),
                    error.get("msg", "invalid"),
                    error.get("ctx"),
                    language,
                ),
                "code": error.get("type", "invalid"),
            }
        )
    return errors


def install_error_handlers(app: FastAPI) -> None:
    """Make every error a problem document: ours, FastAPI's validation, Starlette's HTTP ones."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.slug,
            exc.title,
            exc.detail,
            instance=request.url.path,
            headers=exc.headers,
            errors=exc.errors,
            **exc.extensions,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
        return problem_response(
            422,
            detail=(
                INVALID_FIELDS[language_var.get()].format(fields=fields)
                if fields
                else INVALID_REQUEST[language_var.get()]
            ),
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            allowed = allowed_methods(request.app, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not served here; use {', '.join(allowed)}"
        return problem_response(
            exc.status_code,
            detail=detail,
            instance=request.url.path,
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, instance=request.url.path)
