"""Training service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.kit.app import create_service_app
from services.kit.inbox import Subscription
from services.kit.settings import PlatformSettings, ServiceSettings
from services.training.api import router
from services.training.handlers import handle_worker_event

WORKER_SUBJECTS = ["registry.worker.registered", "registry.worker.updated"]


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    """The training app; settings default to the environment (tests pass their own)."""
    return create_service_app(
        "training",
        routers=[router],
        subscriptions=[
            Subscription(
                name="training-workers", subjects=WORKER_SUBJECTS, handler=handle_worker_event
            )
        ],
        title="Jiasao training",
        description="Courses, enrolments, assessment results and completion.",
        settings=settings,
        platform=platform,
    )
