"""Prometheus metrics of a process: ``GET /internal/metrics`` in the text exposition format.

Under ``/internal/`` like the other operator endpoints: the gateway never routes it to a service
(tests/test_route_policies.py); Prometheus scrapes each pod directly.

Requests by route template (never the raw path), method and status, with their latency; the
outbox backlog and the age of its oldest unpublished row; each durable consumer's pending,
unacknowledged and redelivered messages (read from JetStream at scrape time); dead letters not
yet replayed; the database connection pool in use (those gauges: services.kit.service_metrics,
so the gateway imports neither SQLAlchemy nor NATS). Each app has its own registry, so several
apps in one process (tests) never share or collide.

A scrape must send ``Authorization: Bearer <JIASAO_METRICS_TOKEN>`` (Prometheus'
``authorization`` setting). Deny by default: with no token configured every scrape is refused,
since the gateway's copy of this route is on the public port. ``make run`` generates a
development token (``var/secrets/metrics_token.json``, see devtools.platform); Kubernetes and
compose take it from their Secret.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.errors import problem_response
from services.kit.policy import public

log = logging.getLogger(__name__)

#: Latency buckets (seconds): a phone on a slow network notices 250 ms; the gateway gives up at 10.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
METRICS_PATH = "/internal/metrics"


class MetricsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIASAO_METRICS_", extra="ignore")

    #: Bearer token a scrape must present; unset: metrics are off (every scrape refused).
    token: SecretStr | None = None


class Metrics:
    """The metric families of one process (``process`` = service name or ``gateway``)."""

    def __init__(self, process: str) -> None:
        self.process = process
        self.registry = CollectorRegistry(auto_describe=True)
        #: (route template, method, status) → its request counter and latency histogram.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        registry = self.registry
        self.requests = Counter(
            "jiasao_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "jiasao_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "jiasao_outbox_pending",
            "Outbox rows not yet published to NATS (parked rows included).",
            registry=registry,
        )
        self.outbox_oldest_age = Gauge(
            "jiasao_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox row; 0 when none is pending.",
            registry=registry,
        )
        self.dead_letters = Gauge(
            "jiasao_dead_letters",
            "Events a consumer gave up on and nobody has replayed yet, by consumer.",
            ["consumer"],
            registry=registry,
        )
        self.consumer_pending = Gauge(
            "jiasao_consumer_pending_messages",
            "Messages in the stream the durable consumer has not delivered yet (its lag).",
            ["consumer", "stream"],
            registry=registry,
        )
        self.consumer_ack_pending = Gauge(
            "jiasao_consumer_ack_pending_messages",
            "Messages delivered to the consumer and not acknowledged yet.",
            ["consumer", "stream"],
            registry=registry,
        )
        self.consumer_redelivered = Gauge(
            "jiasao_consumer_redelivered_messages",
            "Messages delivered more than once and still unacknowledged.",
            ["consumer", "stream"],
            registry=registry,
        )
        self.consumer_processed = Gauge(
            "jiasao_consumer_processed_events",
            "Events this process's consumer applied since it started.",
            ["consumer"],
            registry=registry,
        )
        self.pool_in_use = Gauge(
            "jiasao_db_pool_connections_in_use",
            "Database connections checked out of the write pool.",
            registry=registry,
        )
        self.pool_size = Gauge(
            "jiasao_db_pool_size",
            "Connections the write pool keeps open (its configured size).",
            registry=registry,
        )
        self.nats_connected = Gauge(
            "jiasao_nats_connected",
            "1 when the process is connected to NATS.",
            registry=registry,
        )
        self.scrape_errors = Counter(
            "jiasao_metrics_collection_errors",
            "Scrapes where a gauge could not be read (its last value is kept).",
            ["source"],
            registry=registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # The labelled children, looked up once per (route, method, status): ``labels()``
        # validates and locks on every call, a tenth of a cheap read's CPU.
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request; labels by the matched route's template, else by
    ``route_of(scope)`` (the gateway names the service it proxied to), else ``unmatched``."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        route_of: Callable[[Scope], str | None] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is None and self.route_of is not None:
                route = self.route_of(scope)
            route = route or UNMATCHED
            self.metrics.observe_request(
                route, scope["method"], status, time.perf_counter() - started
            )


def metrics_router(
    metrics: Metrics,
    refresh: Callable[[Request], Awaitable[None]] | None = None,
    settings: MetricsSettings | None = None,
) -> APIRouter:
    """``GET /internal/metrics``; ``refresh(request)`` updates the gauges before each scrape."""
    token = (settings or MetricsSettings()).token
    expected = token.get_secret_value().encode() if token else None
    router = APIRouter(
        include_in_schema=False, dependencies=[Depends(public(endpoint_reads_authorization=True))]
    )

    @router.get(METRICS_PATH)
    async def scrape(request: Request) -> Response:
        sent = request.headers.get("authorization", "")
        scheme, _, credentials = sent.partition(" ")
        if (
            expected is None
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(credentials.strip().encode(), expected)
        ):
            return problem_response(
                401,
                detail="Metrics need the scrape token (Authorization: Bearer)"
                if expected is not None
                else "Metrics are off: no scrape token is configured (JIASAO_METRICS_TOKEN)",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        if refresh is not None:
            await refresh(request)
        # The classic text format: every Prometheus version parses it, and our names are plain.
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return router


def install_metrics(
    app: FastAPI,
    process: str,
    refresh: Callable[[Request], Awaitable[None]] | None = None,
    *,
    route_of: Callable[[Scope], str | None] | None = None,
) -> Metrics:
    """Count the app's requests and serve ``/internal/metrics`` (kept on ``app.state.metrics``).
    Call it after the app's other middleware, so it is the outermost and counts every answer."""
    metrics = Metrics(process)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics, route_of=route_of)
    app.include_router(metrics_router(metrics, refresh))
    return metrics
