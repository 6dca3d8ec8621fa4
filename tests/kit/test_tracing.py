"""The trace context lives in kit.tracing: the gateway sets it without importing NATS or
SQLAlchemy, and the outbox and inbox read the very same context variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from services.kit import inbox, middleware, outbox, tracing

ROOT = Path(__file__).resolve().parents[2]


def test_the_outbox_inbox_and_middleware_share_one_context_variable() -> None:
    assert outbox.traceparent_var is tracing.traceparent_var
    assert inbox.traceparent_var is tracing.traceparent_var
    assert middleware.traceparent_var is tracing.traceparent_var


def test_the_gateway_imports_neither_nats_nor_sqlalchemy() -> None:
    probe = (
        "import sys, gateway.app, gateway.proxy, services.kit.middleware, services.kit.tracing\n"
        "heavy = {'nats', 'sqlalchemy', 'asyncpg', 'aiosqlite'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_a_batch_handler_runs_in_a_consumer_span_child_or_linked() -> None:
    """Set-based batch handlers are traced too: a batch of one is the event's child (so a
    chain's trace goes on through it), a larger batch links every event's context."""
    from types import SimpleNamespace

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from services.kit.otel import traced_subscriptions

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: list[str | None] = []

    async def plain(session: object, envelope: object, data: object) -> None:
        raise AssertionError("the batch handler applies these")

    async def batch(session: object, events: list[tuple[object, object]]) -> None:
        seen.append(tracing.traceparent_var.get())

    def event(n: int) -> SimpleNamespace:
        parent = f"00-{n:032x}-{n:016x}-01"
        return SimpleNamespace(id=f"e{n}", type="t", traceparent=parent)

    (traced,) = traced_subscriptions(
        [inbox.Subscription("credit-x", ["a.b.c"], plain, batch_handler=batch)],
        provider.get_tracer("test"),
    )
    assert traced.batch_handler is not None
    await traced.batch_handler(None, [(event(1), None)])
    await traced.batch_handler(None, [(event(2), None), (event(3), None)])
    one, many = exporter.get_finished_spans()
    assert one.name == many.name == "credit-x process"
    assert one.parent is not None and one.parent.span_id == 1 and one.context.trace_id == 1
    assert many.parent is None
    assert {link.context.span_id for link in many.links} == {2, 3}
    # Events the handler writes carry the consumer span as their parent.
    assert seen[0] is not None and seen[0].split("-")[2] == f"{one.context.span_id:016x}"


async def test_a_transaction_handler_runs_in_a_consumer_span_too() -> None:
    """The driver path keeps the chain's trace: its events are written under its span."""
    from types import SimpleNamespace

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from services.kit.otel import traced_subscriptions

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    seen: list[str | None] = []

    async def plain(session: object, envelope: object, data: object) -> None:
        raise AssertionError("the transaction handler applies these")

    async def on_driver(tx: object, events: list[tuple[object, object]]) -> None:
        seen.append(tracing.traceparent_var.get())

    (traced,) = traced_subscriptions(
        [inbox.Subscription("credit-y", ["a.b.c"], plain, transaction_handler=on_driver)],
        provider.get_tracer("test"),
    )
    assert traced.transaction_handler is not None
    parent = SimpleNamespace(id="e7", type="t", traceparent=f"00-{7:032x}-{7:016x}-01")
    await traced.transaction_handler(None, [(parent, None)])
    (span,) = exporter.get_finished_spans()
    assert span.name == "credit-y process"
    assert span.parent is not None and span.parent.span_id == 7 and span.context.trace_id == 7
    assert seen[0] is not None and seen[0].split("-")[2] == f"{span.context.span_id:016x}"
