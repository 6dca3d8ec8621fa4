"""Matching service app: candidates, jobs, matches, hiring, fairs, partner webhooks and the
exchange with the public employment service platforms."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.kit.app import create_service_app
from services.kit.context import ServiceContext
from services.kit.pii import PiiKeyError, load_pii_cipher
from services.kit.settings import PlatformSettings, ServiceSettings
from services.kit.signing import ExchangeSigner
from services.kit.types import utcnow
from services.matching import ranking
from services.matching.api import router
from services.matching.feeds import register_feeds
from services.matching.feeds import router as feeds_router
from services.matching.handlers import READ_MODELS, SUBSCRIPTIONS
from services.matching.recruitment import (
    api_exchange,
    api_fairs,
    api_hiring,
    api_jobs,
    api_webhooks,
    jobs,
)
from services.matching.recruitment.webhooks import DEFAULT_RETRY_DELAYS, Dispatcher
from services.matching.statistics import router as statistics_router

log = logging.getLogger(__name__)


async def _rank_unranked(ctx: ServiceContext) -> None:
    """Candidates stored before the per-track ordering existed (or under an older policy)."""
    while True:
        async with ctx.db.write() as session:
            done = await ranking.rebuild_missing_ranks(session)
        if done == 0:
            return


async def expire_jobs(ctx: ServiceContext) -> int:
    """One sweep: every job past its expiry marked ``expired``; the count. (Readers see the
    expiry at once anyway: listings and applications check the time, not the status.)"""
    count = 0
    while True:
        async with ctx.db.write() as session:
            done = await jobs.expire_due(session, utcnow())
        count += done
        if done < jobs.SWEEP_BATCH:
            return count


async def _sweep_jobs(ctx: ServiceContext, every: float) -> None:
    while True:
        try:
            await expire_jobs(ctx)
        except Exception:  # a database hiccup must not end the sweeping
            log.exception("job expiry sweep failed; next try in %.0f s", every)
        await asyncio.sleep(every)


def create_app(
    settings: ServiceSettings | None = None,
    platform: PlatformSettings | None = None,
    *,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    job_sweep_seconds: float = 60.0,
) -> FastAPI:
    platform = platform or PlatformSettings()
    register_feeds()  # engagement events → the hires feed, appended with their outbox rows

    async def on_startup(ctx: ServiceContext) -> None:
        try:
            ctx.extras[api_webhooks.CIPHER_KEY] = load_pii_cipher(platform)
        except PiiKeyError:
            log.warning("no data keys: partner webhooks cannot be registered or signed")
        # Pages and reports exchanged with the employment platforms are signed with it.
        ctx.extras["exchange_signer"] = ExchangeSigner.load(ctx.platform)
        await _rank_unranked(ctx)

    app = create_service_app(
        "matching",
        routers=[
            router,
            api_jobs.router,
            api_hiring.router,
            api_webhooks.router,
            api_fairs.router,
            api_exchange.router,
            api_exchange.reads_router,
            statistics_router,
            feeds_router,
        ],
        subscriptions=SUBSCRIPTIONS,
        read_models=READ_MODELS,
        title="Jiasao matching",
        description="Candidates, jobs and ranked matches with reasons, applications, offers and "
        "engagements, recruitment fairs, and signed partner webhooks.",
        settings=settings,
        platform=platform,
        on_startup=on_startup,
    )
    # The webhook dispatcher lives inside the kit's lifespan (started after it, stopped before).
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            ctx: ServiceContext = app.state.ctx
            dispatcher = Dispatcher(
                ctx.db, ctx.extras.get(api_webhooks.CIPHER_KEY), retry_delays=webhook_retry_delays
            )
            ctx.extras["webhook_dispatcher"] = dispatcher
            ctx.db.on_commit(dispatcher.wake)
            await dispatcher.start()
            sweeper = asyncio.create_task(_sweep_jobs(ctx, job_sweep_seconds))
            try:
                yield
            finally:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
                await dispatcher.stop()

    app.router.lifespan_context = lifespan
    return app
