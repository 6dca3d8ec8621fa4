"""Credit service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.credit.api import router
from services.credit.handlers import handle_enrollment_completed, handle_worker_event
from services.kit.app import create_service_app
from services.kit.inbox import Subscription
from services.kit.settings import PlatformSettings, ServiceSettings

SUBSCRIPTIONS = [
    Subscription(
        name="credit-certificates",
        subjects=["training.enrollment.completed"],
        handler=handle_enrollment_completed,
    ),
    Subscription(
        name="credit-workers",
        subjects=["registry.worker.registered", "registry.worker.updated"],
        handler=handle_worker_event,
    ),
]


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    """The credit app; settings default to the environment (tests pass their own)."""
    return create_service_app(
        "credit",
        routers=[router],
        subscriptions=SUBSCRIPTIONS,
        title="Jiasao credit",
        description="Certificates (training certificates for now) and their verification.",
        settings=settings,
        platform=platform,
    )
