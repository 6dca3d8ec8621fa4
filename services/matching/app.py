"""Matching service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.kit.app import create_service_app
from services.kit.settings import PlatformSettings, ServiceSettings
from services.matching.api import router
from services.matching.handlers import SUBSCRIPTIONS


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    return create_service_app(
        "matching",
        routers=[router],
        subscriptions=SUBSCRIPTIONS,
        title="Jiasao matching",
        description="Candidate workers per track, from registry, credit and rating events.",
        settings=settings,
        platform=platform,
    )
