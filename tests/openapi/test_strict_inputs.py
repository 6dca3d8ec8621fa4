"""Issue 6, strict inputs: no request body of any service takes ``true`` or ``"12"`` for a
number, a number for a date, a time or a text, or ``1``/``"yes"`` for a boolean (pydantic's lax
mode would store ``true`` as 1, ``"12"`` as 12 and ``0`` as 1970-01-01: a ``"pass_score": false``
once passed everyone).

Every number, date, time, text and boolean anywhere in every request body model of every route
(nested models, list items, dict values included) is found by walking the model's validation
schema, and the model is asked to validate a body holding a wrong-typed value there: each must
be refused at that very place."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter, ValidationError

from services.kit.settings import SERVICES

#: Core-schema types that a lax validator would fill from a value of another JSON type.
NUMBERS = frozenset({"int", "float", "decimal"})
TIMES = frozenset({"date", "datetime", "time", "timedelta"})
TEXTS = frozenset({"str"})
BOOLS = frozenset({"bool"})
#: What must be refused where the document says number, and where it says date or time.
NOT_NUMBERS: tuple[Any, ...] = (True, False, "12")
# A Unix time at midnight UTC: lax mode would read it as that day (2023-11-14).
NOT_TIMES: tuple[Any, ...] = (0, 1_699_920_000)
NOT_TEXTS: tuple[Any, ...] = (12, 1.5)
NOT_BOOLS: tuple[Any, ...] = (1, "true", "yes")

Step = str | int  # a field name or dict key, or a list index
Path = tuple[Step, ...]


@dataclass(frozen=True)
class Leaf:
    model: str
    path: Path
    kind: str  # a core-schema type: int, float, decimal, date ...


def _first_key(keys_schema: dict[str, Any], defs: dict[str, Any]) -> Step:
    """A key the dict's key schema accepts (a literal's first value, else any text)."""
    schema = keys_schema
    while schema.get("type") in ("definition-ref", "function-before", "function-after"):
        schema = defs[schema["schema_ref"]] if "schema_ref" in schema else schema["schema"]
    if schema.get("type") == "literal":
        return str(schema["expected"][0])
    return "key"


def _leaves(
    schema: dict[str, Any], path: Path, defs: dict[str, Any], seen: frozenset[str]
) -> Iterator[tuple[Path, str]]:
    kind = schema.get("type")
    if kind in NUMBERS | TIMES | TEXTS | BOOLS:
        yield path, kind
    elif kind == "definitions":
        defs = {**defs, **{d["ref"]: d for d in schema["definitions"]}}
        yield from _leaves(schema["schema"], path, defs, seen)
    elif kind == "definition-ref":
        if (ref := schema["schema_ref"]) not in seen:
            yield from _leaves(defs[ref], path, defs, seen | {ref})
    elif kind in ("model", "dataclass"):
        ref = schema.get("ref")
        if ref not in seen:
            yield from _leaves(schema["schema"], path, defs, seen | {ref} if ref else seen)
    elif kind in ("model-fields", "typed-dict", "dataclass-args"):
        fields = schema["fields"]
        items = fields.items() if isinstance(fields, dict) else ((f["name"], f) for f in fields)
        for name, field in items:
            yield from _leaves(
                field["schema"], (*path, field.get("validation_alias") or name), defs, seen
            )
    elif kind in ("list", "set", "frozenset"):
        if "items_schema" in schema:
            yield from _leaves(schema["items_schema"], (*path, 0), defs, seen)
    elif kind == "dict":
        if "values_schema" in schema:
            key = _first_key(schema.get("keys_schema", {}), defs)
            yield from _leaves(schema["values_schema"], (*path, key), defs, seen)
    elif kind == "union":
        for choice in schema["choices"]:
            yield from _leaves(choice[0] if isinstance(choice, tuple) else choice, path, defs, seen)
    else:  # wrappers: nullable, default, function-before/after/wrap, chain, json-or-python ...
        for key in ("schema", "json_schema"):
            if isinstance(schema.get(key), dict):
                yield from _leaves(schema[key], path, defs, seen)
        for step in schema.get("steps", ()):
            yield from _leaves(step, path, defs, seen)


@cache
def body_models() -> dict[str, tuple[type[Any], list[str]]]:
    """Every request body type of every service's routes, by name, with the routes using it."""
    models: dict[str, tuple[type[Any], list[str]]] = {}
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.app").create_app()
        for context in iter_route_contexts(app.routes):
            if not isinstance(context.original_route, APIRoute):
                continue
            for param in context.dependant.body_params:
                annotation = param.field_info.annotation
                name = getattr(annotation, "__name__", repr(annotation))
                route = f"{service}: {'/'.join(sorted(context.methods))} {context.path}"
                models.setdefault(name, (annotation, []))[1].append(route)
    return models


@cache
def leaves() -> list[Leaf]:
    found: dict[tuple[str, Path], Leaf] = {}
    for name, (model, _routes) in body_models().items():
        core = TypeAdapter(model).core_schema
        for path, kind in _leaves(core, (), {}, frozenset()):
            found.setdefault((name, path), Leaf(name, path, kind))
    return list(found.values())


def _body_with(path: Path, value: Any) -> Any:
    """The smallest body that holds ``value`` at ``path``."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    inner = _body_with(rest, value)
    return [inner] if isinstance(step, int) else {step: inner}


def _refused_at(model: type[Any], path: Path, value: Any) -> bool:
    try:
        TypeAdapter(model).validate_python(_body_with(path, value))
    except ValidationError as exc:
        return any(tuple(error["loc"][: len(path)]) == path for error in exc.errors())
    return False


def _wrong_values(kind: str) -> tuple[Any, ...]:
    if kind in NUMBERS:
        return NOT_NUMBERS
    if kind in BOOLS:
        return NOT_BOOLS
    return NOT_TIMES if kind in TIMES else NOT_TEXTS


def test_the_walk_sees_the_bodies() -> None:
    """The walk reaches the models it must judge: nested rules, list items and dict values."""
    paths = {(leaf.model, leaf.path) for leaf in leaves()}
    assert len(body_models()) > 50
    assert ("CourseCreate", ("rules", "theory_pass_score")) in paths
    assert ("PolicyIn", ("rules", "levels", 0, "min_score")) in paths
    assert ("PolicyIn", ("rules", "severity_factors", 0)) in paths
    assert ("PolicyIn", ("rules", "weights", "certificate")) in paths
    assert ("WorkerCreate", ("birth_date",)) in paths
    assert ("WorkerCreate", ("name",)) in paths
    assert ("AttendanceRecord", ("present",)) in paths


@pytest.mark.parametrize("name", sorted(body_models()))
def test_no_field_takes_another_json_type(name: str) -> None:
    model, routes = body_models()[name]
    coerced = [
        f"{'.'.join(map(str, leaf.path))} ({leaf.kind}) took {value!r}"
        for leaf in leaves()
        if leaf.model == name
        for value in _wrong_values(leaf.kind)
        if not _refused_at(model, leaf.path, value)
    ]
    assert coerced == [], f"{name} (body of {routes[0]})"
