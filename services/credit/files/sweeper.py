"""The background task that applies time, while the app runs: list entries whose publication
period is over end, files whose records stopped counting are recomputed, and expired mandatory
checks are recorded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from services.credit.files.checks import expire_due
from services.credit.files.service import sweep
from services.kit.context import ServiceContext

log = logging.getLogger(__name__)

#: Seconds between sweeps (an operational interval, not programme policy).
SWEEP_INTERVAL = 60.0


async def _run(ctx: ServiceContext, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            async with ctx.db.write() as session:
                await sweep(session)
                await expire_due(session)
        except Exception:  # logged and retried at the next interval
            log.exception("credit sweep failed")


@contextlib.asynccontextmanager
async def sweeping(ctx: ServiceContext, interval: float = SWEEP_INTERVAL) -> AsyncIterator[None]:
    task = asyncio.create_task(_run(ctx, interval), name="credit-sweep")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
