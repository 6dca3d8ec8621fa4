"""Registry service app."""

from __future__ import annotations

from fastapi import FastAPI

from services.kit.app import ServiceContext, create_service_app
from services.kit.pii import load_pii_cipher
from services.kit.settings import PlatformSettings, ServiceSettings
from services.kit.signing import ExchangeSigner
from services.registry.agencies import routers as agency_routers
from services.registry.agencies.datasets import register_feeds
from services.registry.exchange import ExchangeRuntime
from services.registry.exchange import routers as exchange_routers
from services.registry.identity.api import routers as identity_routers
from services.registry.identity.runtime import IdentityRuntime
from services.registry.parties import routers as party_routers
from services.registry.statistics import router as statistics_router


def create_app(
    settings: ServiceSettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    platform = platform or PlatformSettings()
    identity = IdentityRuntime(platform)
    exchange = ExchangeRuntime()
    register_feeds()  # registry events → change feeds, appended with their outbox rows

    async def _startup(ctx: ServiceContext) -> None:
        ctx.extras["pii"] = load_pii_cipher(ctx.platform)
        ctx.extras["exchange_signer"] = ExchangeSigner.load(ctx.platform, "registry")
        await identity.start(ctx)  # signing keys, token issuer, accounts
        await exchange.start(ctx)  # spool dir, interrupted imports, import heartbeats

    app = create_service_app(
        "registry",
        routers=[
            *party_routers(),
            *identity_routers,
            *exchange_routers(),
            *agency_routers(),
            statistics_router,
        ],
        title="Jiasao registry",
        description="Workers, companies, institutions, employers, partners; accounts; consent.",
        settings=settings,
        platform=platform,
        on_startup=_startup,
        upload_prefixes=("/api/v1/imports/",),
    )
    identity.install(app)
    exchange.install(app)  # stops running imports before the database closes
    return app
