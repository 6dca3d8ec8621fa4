"""The gateway application: a small FastAPI app for its own pages, the proxy for the rest.

Request flow (outermost first): RequestContextMiddleware (request id, traceparent) → Starlette's
error middleware → CORS (only when origins are configured) → ProxyMiddleware, which forwards
every path in the routing table and hands anything else to the FastAPI routes below (health,
OpenAPI, docs, the web pages of gateway.web; everything unknown is a 404 problem).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from gateway.auth import EdgeGuard
from gateway.openapi import TITLE, VERSION, OpenAPIAggregator
from gateway.proxy import Proxy, ProxyMiddleware
from gateway.ratelimit import RateLimiter
from gateway.routes import resolve
from gateway.settings import GatewaySettings
from gateway.web import install_pages
from services.kit.auth import build_verifier
from services.kit.errors import install_error_handlers, problem_response
from services.kit.logging import configure_logging
from services.kit.metrics import install_metrics
from services.kit.middleware import RequestContextMiddleware
from services.kit.otel import install_tracing, make_tracer
from services.kit.settings import PlatformSettings

log = logging.getLogger(__name__)

#: The docs pages' scripts and styles, shipped in the fastapi-offline wheel.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def proxied_route(scope: Scope) -> str | None:
    """The metrics label of a proxied request: the service it went to (bounded values)."""
    service = resolve(scope["path"])
    return f"proxied:{service}" if service else None


class _GatewayApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, unlike add_middleware (always inside the error middleware): even a 500
        # from an unexpected error then carries the request id in its body and header.
        return RequestContextMiddleware(super().build_middleware_stack())


def create_app(
    settings: GatewaySettings | None = None, platform: PlatformSettings | None = None
) -> FastAPI:
    settings = settings or GatewaySettings()
    platform = platform or PlatformSettings()
    configure_logging("gateway", platform.log_level)
    proxy = Proxy(settings)
    aggregator = OpenAPIAggregator(settings, lambda: proxy.session)
    probe_timeout = aiohttp.ClientTimeout(
        total=settings.probe_timeout, sock_connect=settings.connect_timeout
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await proxy.start()
        log.info("gateway started", extra={"services": settings.service_urls()})
        try:
            yield
        finally:
            await proxy.close()
            log.info("gateway stopped")

    app = _GatewayApp(
        title=TITLE,
        version=VERSION,
        lifespan=lifespan,
        # The gateway's own document would only list its health routes; the merged one is served
        # below instead.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry probes the global providers (and the environment) on
        # every request; the platform traces with its own traceparent, so skip that cost.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.proxy = proxy
    app.state.openapi = aggregator
    install_error_handlers(app)

    # Last added runs first: CORS must see preflights and decorate proxied answers too.
    guard = EdgeGuard(
        build_verifier(platform),
        authenticated=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        anonymous=RateLimiter(
            settings.anonymous_rate_limit_per_minute, settings.anonymous_rate_limit_burst
        ),
        trust_forwarded=settings.trust_forwarded_headers,
    )
    app.add_middleware(ProxyMiddleware, proxy=proxy, guard=guard)
    # The web pages (home at /, the brand's public pages, login, the officers' dashboard):
    # the gateway's own routes, never proxied, not in the OpenAPI document.
    install_pages(app, proxy, guard.verifier, guard)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "X-Request-ID",
                "ETag",
                "Location",
                "Retry-After",
                "RateLimit",
                "RateLimit-Policy",
            ],
        )

    # Outermost of the added middleware: every answer is counted and (when OTEL_EXPORTER_OTLP_*
    # is set) traced; proxied requests are labelled by service (each service's own
    # /internal/metrics and spans have its route templates).
    install_tracing(app, make_tracer("gateway"), route_of=proxied_route)
    install_metrics(app, "gateway", route_of=proxied_route)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    async def probe(session: aiohttp.ClientSession, name: str, base: str) -> str:
        try:
            async with session.get(f"{base}/readyz", timeout=probe_timeout) as resp:
                await resp.read()
                return "ready" if resp.status == 200 else f"not ready (HTTP {resp.status})"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"unavailable ({type(exc).__name__})"

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        session = proxy.session
        if session is None:
            return problem_response(503, detail="The gateway's HTTP client is not started")
        urls = settings.service_urls()
        results = await asyncio.gather(*(probe(session, n, u) for n, u in urls.items()))
        services = dict(zip(urls, results, strict=True))
        not_ready = [name for name, state in services.items() if state != "ready"]
        if not_ready:
            return problem_response(
                503,
                detail="Not ready: " + ", ".join(not_ready),
                gateway="ready",
                not_ready=not_ready,
                services=services,
            )
        return JSONResponse({"status": "ready", "gateway": "ready", "services": services})

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> Response:
        return Response(await aggregator.document(), media_type="application/json")

    # Swagger UI and ReDoc from the fastapi-offline wheel, served by the gateway itself: the
    # pages work on an agency's closed network and on a machine without internet.
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} — docs",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def docs_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} — reference",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )

    return app
