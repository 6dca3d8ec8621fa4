"""The ``Allow`` header of a 405: every method some route serves at that path.

Starlette answers 405 with the methods of the *first* route whose path matches, so with
``GET /courses`` and ``POST /courses`` declared separately a ``DELETE /courses`` says
``Allow: POST`` — wrong for clients and for contract checkers. This collects them all.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    methods: set[str] = set()
    for context in iter_route_contexts(app.routes):
        regex = getattr(context, "path_regex", None)
        if regex is not None and regex.match(path) and context.methods:
            methods |= set(context.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
