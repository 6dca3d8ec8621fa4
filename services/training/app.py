"""Training service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.kit.app import create_service_app
from services.kit.settings import PlatformSettings, ServiceSettings
from services.training.api import router
from services.training.apprenticeships.api import router as apprenticeships_router
from services.training.bases.api import router as bases_router
from services.training.competitions.api import router as competitions_router
from services.training.handlers import READ_MODELS, SUBSCRIPTIONS
from services.training.statistics import router as statistics_router
from services.training.subsidies.api import router as subsidies_router
from services.training.ventures.api import router as ventures_router


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    """The training app; settings default to the environment (tests pass their own)."""
    return create_service_app(
        "training",
        routers=[
            router,
            subsidies_router,
            competitions_router,
            bases_router,
            apprenticeships_router,
            ventures_router,
            statistics_router,
        ],
        subscriptions=SUBSCRIPTIONS,
        read_models=READ_MODELS,
        title="Jiasao training",
        description=(
            "Courses, sessions, attendance, exams, completion under versioned rules, "
            "waiting lists, subsidies, competitions, apprenticeships, training bases, skills "
            "records and entrepreneurship support."
        ),
        settings=settings,
        platform=platform,
    )
