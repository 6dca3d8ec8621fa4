"""Inter-agency bulk exchange: import workers, companies and institutions from CSV or JSON Lines
(as sent by the human-resources bureau or another agency) and export them in the same formats.
See docs/registry-exchange.md.

- ``formats``: the column lists and the readers and writers of both formats
- ``importer``: the streaming, batched, idempotent import pipeline; ``kind_handler``,
  ``worker_handler`` and ``organisation_handlers`` validate, compare and register each kind
  of row, ``report`` holds the report's lines and counts
- ``jobs``: import jobs (queued → running → done / failed / interrupted) and their runtime
- ``export``: streaming exports, masked like the API's responses
- ``api``: the HTTP routes

Importing this package stays light (``models`` is imported by ``services.registry.models`` for
alembic); the runtime and the routes load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

if TYPE_CHECKING:
    from services.registry.exchange.jobs import ExchangeRuntime


def routers() -> list[APIRouter]:
    from services.registry.exchange.api import router

    return [router]


def __getattr__(name: str) -> Any:
    if name == "ExchangeRuntime":
        from services.registry.exchange.jobs import ExchangeRuntime

        return ExchangeRuntime
    raise AttributeError(name)


__all__ = ["ExchangeRuntime", "routers"]
