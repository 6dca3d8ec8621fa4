"""The gauges only a service has (services.kit.metrics serves them): outbox backlog, consumer
lag from JetStream, dead letters, the database pool, read just before each scrape."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import func, select

from services.kit.metrics import Metrics, install_metrics
from services.kit.tables import dead_letters, outbox

log = logging.getLogger(__name__)


async def refresh_service_gauges(metrics: Metrics, ctx: Any) -> None:
    """Read the gauges of a service (a kit ServiceContext) from its database and JetStream."""
    try:
        async with ctx.db.read() as session:
            pending = outbox.c.published_at.is_(None)
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(outbox.c.created_at)).where(pending)
                )
            ).one()
            dead = (
                await session.execute(
                    select(dead_letters.c.consumer, func.count())
                    .where(dead_letters.c.replayed_at.is_(None))
                    .group_by(dead_letters.c.consumer)
                )
            ).all()
        metrics.outbox_pending.set(count)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        metrics.outbox_oldest_age.set(max(age, 0.0))
        counts = dict(dead)
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
