"""Credit service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.credit.api import router
from services.credit.files.api import router as files_router
from services.credit.files.api_cases import router as cases_router
from services.credit.handlers import SUBSCRIPTIONS
from services.kit.app import create_service_app
from services.kit.settings import PlatformSettings, ServiceSettings


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    """The credit app; settings default to the environment (tests pass their own)."""
    return create_service_app(
        "credit",
        routers=[router, files_router, cases_router],
        subscriptions=SUBSCRIPTIONS,
        title="Jiasao credit",
        description="Certificates (training certificates for now), their verification by "
        "number and check code, the log of who read a worker's credit data, and credit files "
        "(records, explainable levels, red and black lists, complaints, credit repair).",
        settings=settings,
        platform=platform,
    )
