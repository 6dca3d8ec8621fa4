"""Rating service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.kit.app import create_service_app
from services.kit.settings import PlatformSettings, ServiceSettings
from services.rating.api import router
from services.rating.handlers import SUBSCRIPTIONS


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    return create_service_app(
        "rating",
        routers=[router],
        subscriptions=SUBSCRIPTIONS,
        title="Jiasao rating",
        description="Yearly 1-5 star levels of workers from employer, company and self scores.",
        settings=settings,
        platform=platform,
    )
