"""One OpenAPI 3.1 document for the whole public surface, merged from the services' own.

Each service's ``/openapi.json`` is fetched on demand and the merge cached for a short while.
Only paths the gateway routes to that service are kept (so ``/internal/...`` and health paths
never show), with the components they reach. Components of the same name and content are shared;
a name clash with different content is resolved by prefixing the later service's name and
rewriting its ``$ref``s. A service that cannot be reached is left out and named in
``x-unavailable-services`` instead of failing the whole document.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from gateway.routes import ROUTES, Route, resolve
from gateway.settings import GatewaySettings
from services.kit.logging import request_id_var

log = logging.getLogger(__name__)

TITLE = "Jiasao API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Public API of the Jiasao (家嫂) platform. Errors are RFC 9457 problem+json documents "
    "carrying the request id."
)

_REF = re.compile(r"^#/components/(?P<section>[^/]+)/(?P<name>[^/]+)$")
_HIDDEN_PREFIXES = ("/internal", "/healthz", "/readyz")
# Referenced by name from `security`, not by $ref: kept whole, the first definition wins.
_BY_NAME_SECTIONS = frozenset({"securitySchemes"})

Json = Any
ComponentKey = tuple[str, str]


def _iter_refs(node: Json) -> Iterator[ComponentKey]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and (match := _REF.match(ref)):
            yield match["section"], match["name"]
        for value in node.values():
            yield from _iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _iter_refs(value)


def _rewrite_refs(node: Json, renames: Mapping[ComponentKey, str]) -> Json:
    """A copy of ``node`` with $refs to renamed components pointing at their new names."""
    if not renames:
        return copy.deepcopy(node)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and (match := _REF.match(value)):
                new = renames.get((match["section"], match["name"]))
                out[key] = f"#/components/{match['section']}/{new}" if new else value
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(value, renames) for value in node]
    return node


def public_paths(
    service: str, paths: Mapping[str, Json], routes: tuple[Route, ...] = ROUTES
) -> dict[str, Json]:
    """The paths of ``service`` that the gateway would route to it."""
    return {
        path: item
        for path, item in paths.items()
        if not path.startswith(_HIDDEN_PREFIXES) and resolve(path, routes) == service
    }


def _reachable(roots: Json, components: Mapping[str, Mapping[str, Json]]) -> set[ComponentKey]:
    seen: set[ComponentKey] = set()
    pending = list(_iter_refs(roots))
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        section, name = key
        target = components.get(section, {}).get(name)
        if target is not None:
            pending.extend(_iter_refs(target))
    return seen


def merge_documents(
    docs: Mapping[str, Json],
    unavailable: Sequence[str] = (),
    routes: tuple[Route, ...] = ROUTES,
) -> dict[str, Json]:
    """Merge per-service OpenAPI documents (in the given service order) into one."""
    paths: dict[str, Json] = {}
    components: dict[str, dict[str, Json]] = {}
    tags: dict[str, Json] = {}
    for service, doc in docs.items():
        own_paths = public_paths(service, doc.get("paths") or {}, routes)
        own_components: Mapping[str, Mapping[str, Json]] = doc.get("components") or {}
        for section in _BY_NAME_SECTIONS & own_components.keys():
            for name, content in own_components[section].items():
                kept = components.setdefault(section, {}).setdefault(name, copy.deepcopy(content))
                _union_scopes(kept, content)
        # Only what the kept paths reach: schemas of internal endpoints stay private.
        local = {
            key: own_components[key[0]][key[1]]
            for key in _reachable(own_paths, own_components)
            if key[0] not in _BY_NAME_SECTIONS and key[1] in own_components.get(key[0], {})
        }
        # Renaming one component changes the content of those referring to it, which may make
        # them clash in turn: repeat until nothing new needs renaming.
        renames: dict[ComponentKey, str] = {}
        changed = True
        while changed:
            changed = False
            for key, content in local.items():
                if key in renames:
                    continue
                section, name = key
                existing = components.get(section, {}).get(name)
                if existing is not None and existing != _rewrite_refs(content, renames):
                    renames[key] = _free_name(components.get(section, {}), f"{service}_{name}")
                    changed = True
        for (section, name), content in sorted(local.items()):
            target = renames.get((section, name), name)
            components.setdefault(section, {})[target] = _rewrite_refs(content, renames)
        for path, item in own_paths.items():
            paths[path] = _rewrite_refs(item, renames)
        for tag in doc.get("tags") or ():
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)

    merged: dict[str, Json] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": DESCRIPTION,
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        # Relative: the document describes whichever gateway serves it.
        "servers": [{"url": "/", "description": "This gateway"}],
        "paths": dict(sorted(paths.items())),
    }
    if components:
        merged["components"] = {
            section: dict(sorted(items.items())) for section, items in sorted(components.items())
        }
    if tags:
        merged["tags"] = list(tags.values())
    merged["x-services"] = list(docs)
    merged["x-unavailable-services"] = list(unavailable)
    return merged


def _union_scopes(kept: Json, other: Json) -> None:
    """Each service declares the OAuth scopes its own routes use: the merged scheme has all."""
    for flow_name, flow in (other.get("flows") or {}).items():
        target = kept.setdefault("flows", {}).setdefault(flow_name, copy.deepcopy(flow))
        scopes = target.setdefault("scopes", {})
        scopes.update({k: v for k, v in (flow.get("scopes") or {}).items() if k not in scopes})
        target["scopes"] = dict(sorted(scopes.items()))


def _free_name(section: Mapping[str, Json], wanted: str) -> str:
    name, n = wanted, 2
    while name in section:
        name, n = f"{wanted}{n}", n + 1
    return name


class OpenAPIAggregator:
    """Fetches, merges and caches the public document (serialised, ready to send)."""

    def __init__(
        self,
        settings: GatewaySettings,
        session: Callable[[], aiohttp.ClientSession | None],
        routes: tuple[Route, ...] = ROUTES,
    ) -> None:
        self._urls = settings.service_urls()
        self._session = session
        self._routes = routes
        self._ttl = settings.openapi_cache_seconds
        self._timeout = aiohttp.ClientTimeout(
            total=settings.probe_timeout, sock_connect=settings.connect_timeout
        )
        self._cached: tuple[float, bytes] | None = None
        # One refresh at a time: concurrent requests for a stale document share it.
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._cached = None

    async def document(self) -> bytes:
        if (cached := self._cached) is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        async with self._lock:
            if (cached := self._cached) is not None and time.monotonic() - cached[0] < self._ttl:
                return cached[1]
            body = orjson.dumps(await self.build())
            self._cached = (time.monotonic(), body)
            return body

    async def build(self) -> dict[str, Json]:
        session = self._session()
        names = list(self._urls)
        if session is None:
            fetched: list[Json | None] = [None] * len(names)
        else:
            fetched = await asyncio.gather(*(self._fetch(session, name) for name in names))
        docs = {name: doc for name, doc in zip(names, fetched, strict=True) if doc is not None}
        unavailable = [name for name, doc in zip(names, fetched, strict=True) if doc is None]
        return merge_documents(docs, unavailable, self._routes)

    async def _fetch(self, session: aiohttp.ClientSession, service: str) -> Json | None:
        headers = {"Accept": "application/json"}
        if (request_id := request_id_var.get()) is not None:
            headers["X-Request-ID"] = request_id
        try:
            async with session.get(
                f"{self._urls[service]}/openapi.json", headers=headers, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    log.warning(
                        "service openapi unavailable",
                        extra={"upstream": service, "status": resp.status},
                    )
                    return None
                doc = orjson.loads(await resp.read())
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
            log.warning(
                "service openapi unavailable",
                extra={"upstream": service, "error": f"{type(exc).__name__}: {exc}"},
            )
            return None
        return doc if isinstance(doc, dict) else None
