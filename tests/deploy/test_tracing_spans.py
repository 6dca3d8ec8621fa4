"""OpenTelemetry spans of a kit service (services.kit.otel), exported over real OTLP/HTTP to a
receiver: the request's span continues the caller's trace, and the event it writes is handled
in a consumer span that is its child. Off (nothing installed) without an OTLP endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from devtools.nats import NatsServer
from services.kit.otel import make_tracer, traced_subscriptions, tracing_enabled
from tests.deploy.otlp_receiver import OtlpReceiver
from tests.deploy.test_metrics import make_app
from tests.kit.kit_harness import create_schema, effect_count
from tests.support.apps import context, eventually, running_app

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_request_and_event_spans_form_one_trace(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        app = make_app(f"sqlite+aiosqlite:///{tmp_path / 't.db'}", nats_server.url)
        async with running_app(app) as client:
            db = context(app).db
            await create_schema(db)
            created = await client.post(
                "/api/v1/changes", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
            )
            assert created.status_code == 201
            event_id = created.json()["event_id"]

            async def applied() -> bool:
                return await effect_count(db, event_id) > 0

            await eventually(applied, timeout=20)
            spans = receiver.wait_for(
                lambda spans: any(s.name == "rating-metrics process" for s in spans)
            )
    (server,) = [s for s in spans if s.name == "POST /api/v1/changes"]
    assert server.service == "rating" and server.kind == Span.SPAN_KIND_SERVER
    assert (server.trace_id, server.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert server.attributes["http.route"] == "/api/v1/changes"
    assert server.attributes["http.response.status_code"] == 201
    (consumer,) = [s for s in spans if s.name == "rating-metrics process"]
    assert consumer.kind == Span.SPAN_KIND_CONSUMER
    assert (consumer.trace_id, consumer.parent_span_id) == (CALLER_TRACE, server.span_id)
    assert consumer.attributes["messaging.message.id"] == event_id


def test_tracing_is_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing_enabled()
    assert make_tracer("rating") is None
    subscriptions = [object()]
    assert traced_subscriptions(subscriptions, None) == subscriptions
    assert tracing_enabled({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318"})
