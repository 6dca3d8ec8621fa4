"""OpenTelemetry spans from the gateway through each service and across events; off by default.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (the
standard variables, read by the OTLP/HTTP exporter with the other ``OTEL_EXPORTER_OTLP_*``
ones); otherwise nothing is installed and requests pay nothing.

The platform already carries a W3C ``traceparent`` everywhere (kit.tracing: the request
middleware sets it, the gateway forwards it upstream, the outbox stores it in each envelope, the
inbox restores it for the handler). Here each hop becomes a span whose parent is that
traceparent, and the span's own traceparent replaces it for the hop's duration, so what the hop
does next (a proxied request, an event written to the outbox) is its child: one trace runs
gateway → service → event → consumer → its events → their consumers.

Imports neither NATS nor SQLAlchemy (the gateway uses it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, Tracer, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.tracing import traceparent_var

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_propagator = TraceContextTextMapPropagator()


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return any(environ.get(name) for name in ENDPOINT_VARIABLES)


def make_tracer(process: str, exporter: SpanExporter | None = None) -> Tracer | None:
    """A tracer whose spans carry ``service.name = process``; None when tracing is off.

    ``exporter`` defaults to OTLP over HTTP (configured by the ``OTEL_EXPORTER_OTLP_*``
    variables); tests pass an in-memory one. Each app gets its own provider, flushed at exit.
    """
    if exporter is None:
        if not tracing_enabled():
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": process}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider.get_tracer("jiasao")


def parent_context(traceparent: str | None) -> Context | None:
    return _propagator.extract({"traceparent": traceparent}) if traceparent else None


def traceparent_of(span: Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


class TracingMiddleware:
    """A SERVER span per HTTP request, child of the request's traceparent. Install it inside
    the kit's RequestContextMiddleware (which sets that traceparent from the header)."""

    def __init__(
        self,
        app: ASGIApp,
        tracer: Tracer,
        route_of: Callable[[Scope], str | None] | None = None,
    ) -> None:
        self.app = app
        self.tracer = tracer
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with self.tracer.start_as_current_span(
            method,
            context=parent_context(traceparent_var.get()),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:
            token = traceparent_var.set(traceparent_of(span))
            try:
                await self.app(scope, receive, send_status)
            finally:
                traceparent_var.reset(token)
                route = getattr(scope.get("route"), "path", None)
                if route is None and self.route_of is not None:
                    route = self.route_of(scope)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)


def install_tracing(
    app: Any, tracer: Tracer | None, route_of: Callable[[Scope], str | None] | None = None
) -> None:
    """Add :class:`TracingMiddleware` when tracing is on (``tracer`` not None)."""
    if tracer is not None:
        app.add_middleware(TracingMiddleware, tracer=tracer, route_of=route_of)


def traced_subscriptions(subscriptions: Sequence[Any], tracer: Tracer | None) -> list[Any]:
    """The kit Subscriptions with handlers that run in a CONSUMER span, child of the event's
    traceparent; events the handler writes become its children. Unchanged when tracing is off."""
    if tracer is None:
        return list(subscriptions)
    return [
        replace(
            s,
            handler=_traced_handler(s.name, s.handler, tracer),
            batch_handler=(
                _traced_batch_handler(s.name, s.batch_handler, tracer)
                if s.batch_handler is not None
                else None
            ),
            # Same span for the driver path (its first argument is a transaction, not a
            # session); events refused there (NeedsSession) get a second span on the session.
            transaction_handler=(
                _traced_batch_handler(s.name, s.transaction_handler, tracer)
                if s.transaction_handler is not None
                else None
            ),
        )
        for s in subscriptions
    ]


def _consumer_attributes(consumer: str, envelope: Any) -> dict[str, Any]:
    return {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.consumer.group.name": consumer,
        "messaging.message.id": envelope.id,
        "cloudevents.event_type": envelope.type,
    }


def _traced_batch_handler(consumer: str, batch_handler: Any, tracer: Tracer) -> Any:
    """One CONSUMER span per batch applied set-based: a batch of one is the event's child, as
    with a plain handler; a larger batch links each event's context (OpenTelemetry's
    messaging convention for batches), and events it writes become the batch span's children."""

    async def traced(session: Any, events: Sequence[tuple[Any, Any]]) -> None:
        if len(events) == 1:
            envelope = events[0][0]
            context = parent_context(envelope.traceparent)
            links: list[Link] = []
            attributes = _consumer_attributes(consumer, envelope)
        else:
            context = None
            links = [
                Link(get_current_span(parent).get_span_context())
                for envelope, _ in events
                if (parent := parent_context(envelope.traceparent)) is not None
            ]
            attributes = {
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.consumer.group.name": consumer,
                "messaging.batch.message_count": len(events),
            }
        with tracer.start_as_current_span(
            f"{consumer} process",
            context=context,
            kind=SpanKind.CONSUMER,
            links=links,
            attributes=attributes,
        ) as span:
            token = traceparent_var.set(traceparent_of(span))
            try:
                await batch_handler(session, events)
            finally:
                traceparent_var.reset(token)

    return traced


def _traced_handler(consumer: str, handler: Any, tracer: Tracer) -> Any:
    async def traced(session: Any, envelope: Any, data: Any) -> None:
        with tracer.start_as_current_span(
            f"{consumer} process",
            context=parent_context(envelope.traceparent),
            kind=SpanKind.CONSUMER,
            attributes=_consumer_attributes(consumer, envelope),
        ) as span:
            token = traceparent_var.set(traceparent_of(span))
            try:
                await handler(session, envelope, data)
            finally:
                traceparent_var.reset(token)

    return traced
