"""The merged OpenAPI document (built in-process from the five real services) is one a partner
can generate a working client from: unique names, described operations, the problems and
headers the platform really sends, security from the enforced policies."""

from __future__ import annotations

import importlib
from collections import Counter
from functools import cache
from typing import Any

from gateway.openapi import merge_documents
from gateway.routes import ROUTES, is_page
from services.kit.errors import PROBLEM_MEDIA_TYPE
from services.kit.settings import SERVICES

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@cache
def merged() -> dict[str, Any]:
    docs = {
        name: importlib.import_module(f"services.{name}.app").create_app().openapi()
        for name in SERVICES
    }
    return merge_documents(docs)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in merged()["paths"].items()
        for method, operation in item.items()
    ]


def test_names_are_unique_without_renaming() -> None:
    schemas = merged()["components"]["schemas"]
    # A clash would have been renamed "<service>_<Name>": unstable names for clients.
    assert [n for n in schemas if n.split("_")[0] in SERVICES] == []
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    ids = Counter(op["operationId"] for _, _, op in operations())
    assert [i for i, n in ids.items() if n > 1] == []
    assert all(i.isidentifier() for i in ids)


def test_every_operation_is_described_and_secured() -> None:
    assert len(operations()) > 60
    # The gateway's own web pages are not API operations.
    assert [path for _, path, _ in operations() if is_page(path)] == []
    for method, path, operation in operations():
        assert operation.get("description"), (method, path)
        assert "security" in operation, (method, path)
        assert "src/" not in operation["description"] and ".py" not in operation["description"]
    schemes = merged()["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert "clientCredentials" in schemes["partnerOAuth"]["flows"]


def test_problems_and_headers_are_documented_as_sent() -> None:
    for method, path, operation in operations():
        responses = operation["responses"]
        for status in ("401", "429", "503"):
            assert responses[status]["content"][PROBLEM_MEDIA_TYPE]["schema"] == PROBLEM
        if operation["security"]:
            assert "403" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert responses["422"]["content"][PROBLEM_MEDIA_TYPE]["schema"] == PROBLEM
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Accept-Language" in headers
        if method == "post":
            assert "Idempotency-Key" in headers
            assert {"400", "409"} <= responses.keys()
        if method == "patch":
            assert "If-Match" in headers and {"412", "428"} <= responses.keys()
            # The changed version's ETag comes back: the If-Match of the next change.
            assert "ETag" in responses["200"]["headers"], (method, path)
        assert "Retry-After" in responses["429"]["headers"]
        if "201" in responses:
            assert "Location" in responses["201"]["headers"], (method, path)


def test_every_routed_resource_has_a_handler() -> None:
    """A gateway route to a resource no service serves is a dead door: remove it or build it."""
    paths = list(merged()["paths"])
    dead = [
        f"{route.service}: {name}"
        for route in ROUTES
        if route.pattern.pattern.startswith("^/api/v1/(")
        for name in route.pattern.pattern.removeprefix("^/api/v1/(").split(")")[0].split("|")
        if not any(path.startswith(f"/api/v1/{name}") for path in paths)
    ]
    assert dead == []


#: pydantic's names for JSON Schema's constraints. One in the document was not translated (a
#: bound on an Optional whose int carries a validator): no client or linter enforces it.
PYDANTIC_CONSTRAINTS = {"ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length"}


def _untranslated(node: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("example", "examples", "default"):
                continue
            # Keys of "properties" are field names, not keywords.
            if key in PYDANTIC_CONSTRAINTS and not path.endswith("/properties"):
                found.append(f"{path}/{key}")
            found += _untranslated(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _untranslated(value, f"{path}/{index}")
    return found


def test_constraints_are_json_schema_keywords() -> None:
    assert _untranslated(merged()) == []
