"""App factory shared by the five services: lifespan, health, errors, outbox relay, consumers."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from contracts.catalog import STREAMS
from services.kit.auth import build_verifier
from services.kit.body_limits import BodyLimitMiddleware
from services.kit.bus import Bus
from services.kit.context import ServiceContext, context_of, get_ctx
from services.kit.db import Database
from services.kit.dead_letters_api import dead_letters_router
from services.kit.errors import install_error_handlers, problem_response
from services.kit.idempotency import IdempotencyMiddleware
from services.kit.idempotency_store import IdempotencyStore
from services.kit.inbox import ConsumerRunner
from services.kit.liveness import Liveness
from services.kit.logging import configure_logging
from services.kit.middleware import RequestContextMiddleware
from services.kit.migrate import upgrade
from services.kit.openapi_doc import document_errors_and_headers
from services.kit.otel import install_tracing, make_tracer, traced_subscriptions
from services.kit.outages import install_outage_handler
from services.kit.outbox import Relay
from services.kit.pii import PiiCipher, PiiKeyError, load_pii_cipher
from services.kit.policy import document_security, public
from services.kit.read_models import ReadModel
from services.kit.service_metrics import install_service_metrics
from services.kit.settings import PlatformSettings, ServiceSettings, service_settings
from services.kit.subscriptions import Subscription
from services.kit.suspensions import Suspensions

#: Routes import the context from here (it lives in kit.context so nothing imports this module).
__all__ = ["ServiceContext", "context_of", "create_service_app", "get_ctx", "health_router"]

log = logging.getLogger(__name__)


def create_service_app(
    name: str,
    *,
    routers: Sequence[APIRouter],
    subscriptions: Sequence[Subscription] = (),
    read_models: Sequence[ReadModel] = (),
    title: str,
    description: str = "",
    settings: ServiceSettings | None = None,
    platform: PlatformSettings | None = None,
    on_startup: Callable[[ServiceContext], Awaitable[None]] | None = None,
    upload_prefixes: Sequence[str] = (),
) -> FastAPI:
    """Build a service app. Settings default to the environment (``<NAME>_*``, ``JIASAO_*``)."""
    platform = platform or PlatformSettings()
    settings = settings or service_settings(name, platform)
    configure_logging(name, platform.log_level)
    consumers = {subscription.name for subscription in subscriptions}
    for model in read_models:  # a read model is rebuilt through its own consumers only
        if not set(model.consumers) <= consumers:
            raise ValueError(f"read model {model.name!r}: consumers {model.consumers} unknown")
    tracer = make_tracer(name)  # None (no spans) unless OTEL_EXPORTER_OTLP_* is set
    subscriptions = traced_subscriptions(subscriptions, tracer)
    # Suspended partners and agencies, refused at token verification (issue 16).
    suspensions = Suspensions(settings.party_standing_refresh_interval)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await run_in_threadpool(upgrade, name, settings.database_url)
        db = Database(settings.database_url)
        # Before the consumers, which change it after their commits.
        await suspensions.start(db)
        own_stream = name.upper()
        bus = Bus(
            platform.nats_url,
            name=name,
            streams={own_stream: STREAMS[own_stream]} if own_stream in STREAMS else {},
            replicas=platform.stream_replicas,
            timeout=platform.nats_timeout,
            user=platform.nats_user,
            password=(
                platform.nats_password.get_secret_value() if platform.nats_password else None
            ),
        )
        relay = Relay(db, bus)
        db.on_commit(relay.wake)
        ctx = ServiceContext(settings, platform, db, bus, relay)
        for subscription in subscriptions:
            ctx.runners[subscription.name] = ConsumerRunner(
                subscription,
                db,
                bus,
                max_deliver=settings.max_deliver,
                ack_wait=settings.ack_wait,
            )
        app.state.ctx = ctx
        liveness = Liveness(db)
        await liveness.start()
        app.state.idempotency = IdempotencyStore(db, liveness, _body_cipher(platform))
        purge = asyncio.create_task(
            _purge_idempotency_keys(app.state.idempotency, settings.idempotency_purge_interval),
            name=f"{name}-idempotency-purge",
        )
        await bus.start()
        await relay.start()
        for runner in ctx.runners.values():
            await runner.start()
        if on_startup is not None:
            await on_startup(ctx)
        if FREEZE_GC_AFTER_STARTUP:
            freeze_startup_objects()
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            purge.cancel()
            await asyncio.gather(purge, return_exceptions=True)
            await suspensions.stop()
            for runner in ctx.runners.values():
                await runner.stop()
            await relay.stop()
            await liveness.stop()
            await bus.close()
            await db.dispose()
            log.info("service stopped")

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        # FastAPI's built-in OpenTelemetry probes global providers on every request; we trace
        # with our own traceparent, so skip that cost.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Operation ids are the route functions' names (list_workers, get_course …): good
        # method names for generated clients; the gateway keeps them unique across services.
        generate_unique_id_function=_operation_id,
    )
    # Every service verifies tokens itself (DESIGN.md §4); routes opt in via kit.principal.
    app.state.token_verifier = build_verifier(platform)
    app.state.token_verifier.standing = suspensions
    app.state.suspensions = suspensions
    app.add_middleware(IdempotencyMiddleware)
    # Outside the idempotency buffer, so nothing reads an unbounded body.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        chunk_timeout=settings.body_chunk_timeout,
        upload_prefixes=upload_prefixes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    install_tracing(app, tracer)  # inside the request context: child of its traceparent
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    install_outage_handler(app)
    # The service's own routes first: a request is compared with the routes in order, and the
    # API's reads need not be compared with the health, operator and metrics routes first
    # (FastAPI matches an included router's routes twice, so each one passed costs).
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    app.include_router(dead_letters_router())
    # Its middleware added last, so outermost: every answer is counted and timed.
    install_service_metrics(app, name)
    _document_policies(app)
    return app


#: Set by the service process's entry point (:func:`services.kit.cli.serve`). Off where one
#: process builds many apps (tests): frozen objects are never collected.
FREEZE_GC_AFTER_STARTUP = False


def freeze_startup_objects() -> None:
    """Move what startup built (modules, the app, compiled statements) out of the garbage
    collector's sight: a full collection no longer walks it, which the event batches'
    allocations trigger again and again (CPython's ``gc.freeze``)."""
    gc.collect()
    gc.freeze()


def _document_policies(app: FastAPI) -> None:
    """Each operation's OpenAPI ``security`` comes from the policy the route enforces; its
    errors and headers are those the platform really answers (kit.openapi_doc)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors_and_headers(document_security(app, build()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operation_id(route: APIRoute) -> str:
    return route.name


def _body_cipher(platform: PlatformSettings) -> PiiCipher | None:
    """The cipher for stored idempotent answers; without keys, answers are not stored."""
    try:
        return load_pii_cipher(platform)
    except PiiKeyError:
        log.warning("no personal-data keys: idempotent answers will not be stored")
        return None


async def _purge_idempotency_keys(store: IdempotencyStore, interval: float) -> None:
    """Expired Idempotency-Keys are deleted in the background, not on the request path.

    The first purge waits one interval: a write at start-up competes with the service's own
    first writes for SQLite's lock, and a purge cancelled at shutdown while its thread waits
    for that lock would hold the database open for the whole busy timeout.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await store.purge()
            if removed:
                log.info("purged idempotency keys", extra={"removed": removed})
        except Exception:
            log.exception("idempotency key purge failed; retrying later")


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(public())])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        ctx = context_of(request)
        checks: dict[str, str] = {}
        try:
            await ctx.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["nats"] = "ok" if ctx.bus.is_connected else "unavailable"
        if all(value == "ok" for value in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(
            503,
            detail="Not ready: " + ", ".join(f"{k} {v}" for k, v in checks.items()),
            checks=checks,
        )

    return router
