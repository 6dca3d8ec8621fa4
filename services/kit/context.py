"""What a running service holds, and the dependency routes use to reach it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.outbox import Relay
from services.kit.settings import PlatformSettings, ServiceSettings


@dataclass
class ServiceContext:
    """Everything a running service holds; lives on ``app.state.ctx``."""

    settings: ServiceSettings
    platform: PlatformSettings
    db: Database
    bus: Bus
    relay: Relay
    runners: dict[str, ConsumerRunner] = field(default_factory=dict)
    #: Service-specific singletons set by ``on_startup`` (e.g. the registry's PII cipher).
    extras: dict[str, Any] = field(default_factory=dict)


def context_of(request: Request) -> ServiceContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


async def get_ctx(request: Request) -> ServiceContext:
    """Dependency. Async on purpose: FastAPI runs sync dependencies in a thread pool."""
    return context_of(request)
