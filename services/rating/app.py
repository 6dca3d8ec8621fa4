"""Rating service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.kit.app import create_service_app
from services.kit.settings import PlatformSettings, ServiceSettings
from services.rating.api import router
from services.rating.assessments_api import router as assessments_router
from services.rating.brand.api import router as brand_router
from services.rating.handlers import READ_MODELS, SUBSCRIPTIONS
from services.rating.statistics import router as statistics_router


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    return create_service_app(
        "rating",
        routers=[router, assessments_router, statistics_router, brand_router],
        subscriptions=SUBSCRIPTIONS,
        read_models=READ_MODELS,
        title="Jiasao rating",
        description="Yearly 1-5 star assessment of workers: employer reviews of finished "
        "engagements, company and self evaluations, closed years, appeals.",
        settings=settings,
        platform=platform,
    )
