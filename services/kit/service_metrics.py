"""The gauges only a service has (services.kit.metrics serves them): outbox backlog, consumer
lag from JetStream, dead letters, the database pool, read just before each scrape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request

from services.kit.metrics import Metrics, install_metrics
from services.kit.operations import dead_letter_counts, outbox_backlog

log = logging.getLogger(__name__)


async def refresh_service_gauges(metrics: Metrics, ctx: Any) -> None:
    """Read the gauges of a service (a kit ServiceContext) from its database and JetStream."""
    try:
        backlog = await outbox_backlog(ctx.db, ctx.relay.published_unmarked)
        counts = await dead_letter_counts(ctx.db)
        metrics.outbox_pending.set(backlog.pending)
        metrics.outbox_oldest_age.set(backlog.oldest_age_s)
        for consumer in {*ctx.runners, *counts}:
            metrics.dead_letters.labels(consumer).set(counts.get(consumer, 0))
    except Exception as exc:
        metrics.scrape_errors.labels("database").inc()
        log.warning("metrics: database gauges unavailable", extra={"error": repr(exc)})
    pool = ctx.db.write_engine.sync_engine.pool
    if hasattr(pool, "checkedout"):
        metrics.pool_in_use.set(pool.checkedout())
    if hasattr(pool, "size"):
        metrics.pool_size.set(pool.size())
    metrics.nats_connected.set(1 if ctx.bus.is_connected else 0)
    for name, runner in ctx.runners.items():
        metrics.consumer_processed.labels(name).set(runner.processed)
        stream = runner.subscription.stream_name()
        if not ctx.bus.is_connected:
            continue
        try:
            info = await ctx.bus.js.consumer_info(stream, name, timeout=2)
        except Exception as exc:
            metrics.scrape_errors.labels("jetstream").inc()
            log.debug("metrics: consumer info unavailable", extra={"error": repr(exc)})
            continue
        metrics.consumer_pending.labels(name, stream).set(info.num_pending or 0)
        metrics.consumer_ack_pending.labels(name, stream).set(info.num_ack_pending or 0)
        metrics.consumer_redelivered.labels(name, stream).set(info.num_redelivered or 0)


def install_service_metrics(app: FastAPI, process: str) -> Metrics:
    """:func:`install_metrics` with the service gauges (outbox, consumers, dead letters, pool)."""

    async def refresh(request: Request) -> None:
        ctx = getattr(request.app.state, "ctx", None)
        if ctx is not None:
            await refresh_service_gauges(request.app.state.metrics, ctx)

    return install_metrics(app, process, refresh)
