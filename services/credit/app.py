"""Credit service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.credit.api import router
from services.credit.credentials import api as cards_api
from services.credit.credentials import insurance_api, published_api
from services.credit.credentials import page as verification_page
from services.credit.credentials.facts import SUBSCRIPTIONS as CARD_SUBSCRIPTIONS
from services.credit.credentials.published_api import start as start_published
from services.credit.feeds import register_feeds
from services.credit.feeds import router as feeds_router
from services.credit.files.api import router as files_router
from services.credit.files.api_cases import router as cases_router
from services.credit.handlers import READ_MODELS, SUBSCRIPTIONS
from services.credit.statistics import router as statistics_router
from services.kit.app import ServiceContext, create_service_app
from services.kit.settings import PlatformSettings, ServiceSettings
from services.kit.signing import ExchangeSigner


async def on_startup(ctx: ServiceContext) -> None:
    await start_published(ctx)
    # Change-feed pages sent to agencies are signed with the platform's exchange key.
    ctx.extras["exchange_signer"] = ExchangeSigner.load(ctx.platform)


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    """The credit app; settings default to the environment (tests pass their own)."""
    register_feeds()  # credit events → change feeds, appended with their outbox rows
    return create_service_app(
        "credit",
        routers=[
            router,
            files_router,
            cases_router,
            published_api.router,
            published_api.well_known,
            cards_api.router,
            insurance_api.router,
            verification_page.router,
            statistics_router,
            feeds_router,
        ],
        subscriptions=SUBSCRIPTIONS + CARD_SUBSCRIPTIONS,
        read_models=READ_MODELS,
        title="Jiasao credit",
        description="Certificates, their verification by number and check code, and the log of "
        "who read a worker's credit data; credit files (records, explainable levels, red and "
        "black lists, complaints, credit repair); the home-service card (居家上门服务证) with "
        "its accident insurance, and certificates as W3C Verifiable Credentials with a "
        "Bitstring Status List.",
        settings=settings,
        platform=platform,
        on_startup=on_startup,
    )
