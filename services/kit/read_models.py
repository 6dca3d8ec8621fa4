"""Read models: tables a service fills only from other services' events, rebuilt by replay.

DESIGN §3: any read model can be rebuilt by replaying the streams from the start. A service
names each of its read models with the durable consumers that write it and the tables they
alone write (``create_service_app(read_models=...)``); ``python -m services.<name> rebuild
<read-model>`` then, in this order:

1. empties the tables and the consumers' ``kit_inbox`` rows, in one transaction;
2. deletes each durable consumer on JetStream (its stream keeps every event);
3. creates it again (``DeliverPolicy.ALL``) and applies the stream from its first event in this
   process, through the inbox as the service does, until nothing is pending or awaiting an ack.

Run it with the service's replicas stopped (``kubectl scale --replicas=0``): a replica that
keeps running would bind to the re-created consumer and share the replay (the inbox still
applies each event once), but it could also write a row between steps 1 and 2.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nats.js.errors import NotFoundError
from sqlalchemy import delete, func, select, table
from sqlalchemy.exc import NoSuchTableError

from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.subscriptions import Subscription
from services.kit.tables import inbox


@dataclass(frozen=True)
class ReadModel:
    """``name`` (what the operator types), the consumers that write it, the tables it owns."""

    name: str
    consumers: tuple[str, ...]
    tables: tuple[str, ...]
    description: str = ""


class RebuildError(RuntimeError):
    """The read model is unknown or badly declared, or the replay did not finish."""


@dataclass
class RebuildResult:
    read_model: str
    #: Rows per table before the reset and after the replay.
    rows_before: dict[str, int]
    rows_after: dict[str, int]
    #: Events each consumer handled during the replay (applied, or skipped as seen).
    handled: dict[str, int]
    seconds: float


def find(read_models: Sequence[ReadModel], name: str) -> ReadModel:
    for model in read_models:
        if model.name == name:
            return model
    known = ", ".join(m.name for m in read_models) or "none"
    raise RebuildError(f"no read model {name!r} (this service's read models: {known})")


async def count_rows(db: Database, tables: Sequence[str]) -> dict[str, int]:
    counts = {}
    async with db.read() as session:
        for name in tables:
            counts[name] = int(await session.scalar(select(func.count()).select_from(table(name))))
    return counts


async def rebuild(
    db: Database,
    bus: Bus,
    model: ReadModel,
    subscriptions: Sequence[Subscription],
    *,
    ack_wait: float = 30.0,
    max_deliver: int = 5,
    timeout: float = 600.0,
    progress: Callable[[str], None] = lambda _: None,
    rows_before: dict[str, int] | None = None,
) -> RebuildResult:
    """Reset ``model`` and replay its consumers' streams from the start (module docstring).

    ``rows_before``: the tables' sizes before a first attempt that failed midway (it may have
    emptied them), so a retry reports what the read model held, not what the failure left.
    """
    by_name = {s.name: s for s in subscriptions}
    missing = [c for c in model.consumers if c not in by_name]
    if missing:
        raise RebuildError(f"read model {model.name!r} names unknown consumers {missing}")
    started = time.monotonic()
    try:
        before = rows_before if rows_before is not None else await count_rows(db, model.tables)
    except NoSuchTableError as exc:  # pragma: no cover - a declaration bug
        raise RebuildError(f"read model {model.name!r}: no table {exc}") from None
    await bus.wait_connected(30)
    async with db.write() as session:
        for name in model.tables:
            await session.execute(delete(table(name)))
        await session.execute(delete(inbox).where(inbox.c.consumer.in_(model.consumers)))
    progress(f"emptied {', '.join(model.tables)} and the consumers' inbox rows")
    runners = [
        ConsumerRunner(by_name[name], db, bus, max_deliver=max_deliver, ack_wait=ack_wait)
        for name in model.consumers
    ]
    for runner in runners:
        stream = runner.subscription.stream_name()
        try:
            await bus.js.delete_consumer(stream, runner.name)
            progress(f"deleted consumer {runner.name} on {stream}")
        except NotFoundError:
            progress(f"consumer {runner.name} on {stream} did not exist")
        await bus.js.add_consumer(stream, runner.consumer_config())
    for runner in runners:
        await runner.start()
    try:
        deadline = time.monotonic() + timeout
        while not await _caught_up(bus, runners):
            if time.monotonic() > deadline:
                raise RebuildError(f"the replay did not finish within {timeout:.0f}s")
            await asyncio.sleep(0.2)
    finally:
        for runner in runners:
            await runner.stop()
    after = await count_rows(db, model.tables)
    return RebuildResult(
        model.name,
        before,
        after,
        {runner.name: runner.processed for runner in runners},
        time.monotonic() - started,
    )


async def _caught_up(bus: Bus, runners: Sequence[ConsumerRunner]) -> bool:
    for runner in runners:
        info = await bus.js.consumer_info(runner.subscription.stream_name(), runner.name)
        if info.num_pending or info.num_ack_pending:
            return False
    return True
