"""The OpenAPI document tells the truth about what the platform answers and expects.

FastAPI documents only the happy path and a ``422 HTTPValidationError`` that the platform
never sends. This module rewrites every operation of a service's document so that a client
generated from it works:

- every error is an RFC 9457 ``Problem`` (``application/problem+json``), with ``errors[]``
  naming fields for 422;
- each operation lists the errors it can produce: 401 always (a sent token must be valid),
  403 where a policy restricts roles, 404 where the path names a record, 400/409/422 for POST
  (``Idempotency-Key``), 412/428 for PATCH (``If-Match``), 413 with a body, 429 and 503
  (the gateway's rate limit and a service that is down);
- request headers the platform reads (``Accept-Language``, ``Idempotency-Key``, ``If-Match``,
  ``If-None-Match``) and response headers it sends (``ETag``, ``Location``, ``Retry-After``,
  ``RateLimit``) are declared.

Security comes from :mod:`services.kit.policy`, so the document cannot drift from enforcement.
"""

from __future__ import annotations

import copy
from typing import Any

from services.kit.errors import PROBLEM_MEDIA_TYPE

Json = dict[str, Any]

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMAS: dict[str, Json] = {
    "Problem": {
        "title": "Problem",
        "type": "object",
        "description": "RFC 9457 problem details. `type` is a stable URI per kind of problem; "
        "`request_id` is the id to quote to support.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "description": "Stable URI of the kind of problem"},
            "title": {"type": "string", "description": "Short summary, in the asked language"},
            "status": {"type": "integer", "description": "The HTTP status"},
            "detail": {"type": "string", "description": "What went wrong, for people"},
            "instance": {"type": "string", "description": "The request path"},
            "request_id": {"type": "string", "description": "Also in X-Request-ID"},
            "errors": {
                "type": "array",
                "description": "For 422: one entry per invalid field",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
            },
        },
        "additionalProperties": True,
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "The field as the client wrote it"},
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "description": "Where the field is (body, query, path, header …)",
            },
            "message": {"type": "string"},
            "code": {"type": "string", "description": "Machine-readable kind of error"},
        },
        "additionalProperties": True,
    },
}

_HEADER_DOCS: dict[str, Json] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer"},
    },
    "RateLimit": {
        "description": 'Remaining quota, e.g. "per-client";r=0;t=5 (IETF httpapi draft)',
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The quota, e.g. "per-client";q=600;w=60',
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "Version of the representation; send it as If-Match or If-None-Match",
        "schema": {"type": "string"},
    },
    "Location": {"description": "Where the created resource lives", "schema": {"type": "string"}},
}

_ERRORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "400": (
        "Malformed request (a body that does not parse, an invalid Idempotency-Key or cursor)",
        (),
    ),
    "401": ("No valid bearer token (see WWW-Authenticate)", ()),
    "403": ("The caller's role or partner scopes do not allow this", ()),
    "404": ("No such record, or not one the caller may see", ()),
    "409": ("Conflict with the current state, or the same Idempotency-Key in flight", ()),
    "412": ("If-Match does not name the current version: read it again", ()),
    "413": ("The request body is too large", ()),
    "415": ("The file is not in a format this route reads (e.g. not UTF-8 text)", ()),
    "422": ("Invalid input: `errors` names each field", ()),
    "428": ("This change needs If-Match with the ETag of the version you read", ()),
    "429": ("Too many requests from this caller", ("Retry-After", "RateLimit", "RateLimit-Policy")),
    "503": ("The service is unavailable for a moment", ("Retry-After",)),
}

_ACCEPT_LANGUAGE: Json = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "Language of human-readable text: zh-CN (default), zh-HK or en",
    "schema": {"type": "string", "examples": ["zh-CN", "zh-HK", "en"]},
}
_IDEMPOTENCY_KEY: Json = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same key to retry safely: the first answer is replayed. 8-200 "
    "letters, digits or . _ : - (a UUID is ideal)",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{8,200}$"},
}
_IF_MATCH: Json = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The ETag of the version being changed (428 without it, 412 if stale)",
    # Entity tags, a list of them or "*"; blank is refused like a missing header (428).
    "schema": {"type": "string", "minLength": 1, "pattern": r"\S"},
}
_IF_NONE_MATCH: Json = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag you hold: 304 Not Modified if it is still current",
    "schema": {"type": "string"},
}

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _problem_response(status: str) -> Json:
    description, headers = _ERRORS[status]
    response: Json = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
    }
    if headers:
        response["headers"] = {name: copy.deepcopy(_HEADER_DOCS[name]) for name in headers}
    return response


def _add_parameter(operation: Json, parameter: Json) -> None:
    parameters = operation.setdefault("parameters", [])
    key = (parameter["in"], parameter["name"].lower())
    if not any((p.get("in"), str(p.get("name", "")).lower()) == key for p in parameters):
        parameters.append(copy.deepcopy(parameter))


def _error_statuses(method: str, path: str, operation: Json) -> list[str]:
    policy = operation.get("x-jiasao-policy", {})
    statuses = ["401", "429", "503"]
    if policy.get("kind") not in (None, "public"):
        statuses.append("403")
    if "{" in path or method in ("post", "delete"):
        statuses.append("404")  # the path's record, or one the body names
    if any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
        statuses.append("400")  # a cursor this API did not issue
    has_input = bool(operation.get("parameters")) or "requestBody" in operation
    if has_input:
        statuses.append("422")
    if "requestBody" in operation:
        statuses += ["400", "413"]  # 400: a body that does not parse as its media type
        media_types = set(operation["requestBody"].get("content", {}))
        if media_types - {"application/json"}:
            statuses.append("415")  # a file whose bytes are not the text the route reads
    if method == "post":
        statuses += ["400", "409", "422"]
    if method == "patch":
        statuses += ["409", "412", "428"]
    if method == "delete":
        statuses.append("409")
    return sorted(set(statuses))


def _document_operation(method: str, path: str, operation: Json) -> None:
    responses: Json = operation.setdefault("responses", {})
    _add_parameter(operation, _ACCEPT_LANGUAGE)
    if method == "post":
        _add_parameter(operation, _IDEMPOTENCY_KEY)
    if method == "patch":
        _add_parameter(operation, _IF_MATCH)
    for status in _error_statuses(method, path, operation):
        existing = responses.get(status)
        refs_validation = existing is not None and "HTTPValidationError" in str(existing)
        if existing is None or refs_validation:
            responses[status] = _problem_response(status)
        elif "content" not in existing:
            # A route's own words for an error it answers: the body is still problem+json.
            documented = _problem_response(status)
            documented["description"] = existing.get("description") or documented["description"]
            responses[status] = {**existing, **documented}
    for status, response in responses.items():
        headers = response.setdefault("headers", {}) if status.startswith("2") else None
        if headers is None:
            continue
        if method == "get" and status == "200":
            headers.setdefault("ETag", copy.deepcopy(_HEADER_DOCS["ETag"]))
        if method == "patch" and status == "200":  # the changed version: the next If-Match
            headers.setdefault("ETag", copy.deepcopy(_HEADER_DOCS["ETag"]))
        if status == "201":
            headers.setdefault("Location", copy.deepcopy(_HEADER_DOCS["Location"]))
        if not headers:
            del response["headers"]
    if method == "get" and "200" in responses and "{" in path:
        _add_parameter(operation, _IF_NONE_MATCH)
        responses.setdefault(
            "304",
            {
                "description": "Not modified: the If-None-Match ETag is current",
                "headers": {"ETag": copy.deepcopy(_HEADER_DOCS["ETag"])},
            },
        )


def document_errors_and_headers(schema: Json) -> Json:
    """Rewrite ``schema`` (a service's OpenAPI document) in place, and return it."""
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            if (operation := item.get(method)) is not None:
                _document_operation(method, path, operation)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(copy.deepcopy(PROBLEM_SCHEMAS))
    return schema
