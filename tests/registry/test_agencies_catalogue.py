"""The registry's catalogue ``GET /api/v1/feeds`` is truthful (issue 14): it lists every dataset
the platform exchanges with agencies — its own feeds, credit's and matching's feeds (jobs
included), matching's snapshot pulls and the imports — and each route it names exists in the
service it names, which the gateway routes it to; no exchange route of any service is missing."""

from __future__ import annotations

import importlib
import re

from fastapi import FastAPI

from gateway.routes import resolve
from services.kit.policy import route_policies
from services.kit.principal import Principal
from services.kit.settings import SERVICES
from services.registry.agencies.datasets import DATASETS, scope_of
from services.registry.agencies.feeds import list_feeds

EXCHANGE_PATHS = re.compile(r"^/api/v1/(feeds/[^/{]+|exchange/[^/]+|imports/target_groups)$")


def _routes(name: str) -> set[tuple[str, str]]:
    app: FastAPI = importlib.import_module(f"services.{name}.app").create_app()
    return set(route_policies(app))


def _serves(routes: set[tuple[str, str]], method: str, path: str) -> bool:
    """A route of ``routes`` answers ``method path`` (templates like ``{dataset}`` match)."""
    for m, template in routes:
        parts = re.split(r"(\{[^}]+\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        if m == method and re.fullmatch(pattern, path):
            return True
    return False


async def test_the_catalogue_lists_every_dataset_where_it_is_served() -> None:
    listed = await list_feeds(Principal(subject="officer-1", role="officer"))
    assert [d.dataset for d in listed] == list(DATASETS)
    by_name = {d.dataset: d for d in listed}
    assert by_name["jobs"].service == "matching"
    assert {(r.method, r.path, r.kind) for r in by_name["jobs"].routes} == {
        ("GET", "/api/v1/feeds/jobs", "feed"),
        ("GET", "/api/v1/exchange/jobs", "pull"),
    }
    assert by_name["jobs-import"].scope == "import:jobs"
    served = {name: _routes(name) for name in SERVICES}
    named: set[tuple[str, str]] = set()
    for dataset in listed:
        assert dataset.scope == scope_of(dataset.dataset)
        assert dataset.fields == list(DATASETS[dataset.dataset])
        for route in dataset.routes:
            assert _serves(served[dataset.service], route.method, route.path), route
            assert resolve(route.path) == dataset.service, (dataset.dataset, route.path)
            named.add((route.method, route.path))
    # Every agency exchange route of every service is in the catalogue.
    for name, routes in served.items():
        for method, path in routes:
            if EXCHANGE_PATHS.match(path) and path != "/api/v1/feeds/{dataset}":
                assert (method, path) in named, (name, method, path)
