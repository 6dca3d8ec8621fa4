"""What operators ask of a service, shared by its HTTP operator API, its metrics and the
command line (services.kit.cli): the outbox backlog, dead letters and their replay, and each
durable consumer's lag on JetStream."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.inbox import ConsumerRunner
from services.kit.subscriptions import Subscription
from services.kit.tables import dead_letters, outbox


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    #: Seconds the oldest unpublished row has waited (0 without any).
    oldest_age_s: float
    #: Rows the relay set aside as never publishable as they are.
    parked: int


@dataclass(frozen=True)
class ConsumerLag:
    consumer: str
    stream: str
    #: Events on the stream the consumer has not been given yet.
    pending: int | None = None
    #: Given to a replica and not acknowledged yet.
    ack_pending: int | None = None
    #: Given more than once and not acknowledged yet.
    redelivered: int | None = None
    #: Why the numbers are missing (NATS down, no such consumer yet).
    error: str | None = None


def _age(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max((datetime.now(UTC) - oldest).total_seconds(), 0.0)


async def outbox_backlog(db: Database, published: Collection[int] = ()) -> OutboxBacklog:
    """Unpublished rows; ``published``: seqs this process's relay has published and not yet
    marked sent (:attr:`services.kit.outbox.Relay.published_unmarked`), which wait for nobody."""
    waiting = outbox.c.published_at.is_(None)
    if published:
        waiting = waiting & outbox.c.seq.not_in(list(published))
    async with db.read() as session:
        pending, oldest = (
            await session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(waiting)
            )
        ).one()
        parked = await session.scalar(
            select(func.count()).where(waiting, outbox.c.parked_at.is_not(None))
        )
    return OutboxBacklog(int(pending), _age(oldest), int(parked or 0))


async def dead_letter_counts(db: Database) -> dict[str, int]:
    """Dead letters not replayed yet, per consumer."""
    async with db.read() as session:
        rows = (
            await session.execute(
                select(dead_letters.c.consumer, func.count())
                .where(dead_letters.c.replayed_at.is_(None))
                .group_by(dead_letters.c.consumer)
            )
        ).all()
    return {consumer: int(count) for consumer, count in rows}


async def list_dead_letters(
    db: Database, *, include_replayed: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    """Dead letters oldest first (without their payloads), replayed ones on request."""
    query = (
        select(*(c for c in dead_letters.c if c.name != "payload"))
        .order_by(dead_letters.c.failed_at)
        .limit(limit)
    )
    if not include_replayed:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    async with db.read() as session:
        return [dict(row) for row in (await session.execute(query)).mappings().all()]


async def dead_letter_consumer(db: Database, dead_letter_id: str) -> str | None:
    async with db.read() as session:
        found = await session.scalar(
            select(dead_letters.c.consumer).where(dead_letters.c.id == dead_letter_id)
        )
    return str(found) if found is not None else None


async def replay_dead_letter(
    db: Database, runners: Mapping[str, ConsumerRunner], dead_letter_id: str
) -> bool | None:
    """Run the consumer's handler on the dead-lettered event again, through the inbox.

    None if there is no such dead letter (or its consumer is not this service's); True if it
    was applied now, False if the inbox had it already. A handler that fails again raises,
    and the letter stays.
    """
    consumer = await dead_letter_consumer(db, dead_letter_id)
    if consumer is None or consumer not in runners:
        return None
    return await runners[consumer].replay(dead_letter_id)


async def consumer_lag(bus: Bus, subscriptions: Sequence[Subscription]) -> list[ConsumerLag]:
    """Each durable consumer's numbers as JetStream reports them now."""
    lags = []
    for subscription in subscriptions:
        stream = subscription.stream_name()
        try:
            info = await bus.js.consumer_info(stream, subscription.name, timeout=2)
        except NotFoundError:
            lags.append(ConsumerLag(subscription.name, stream, error="not created yet"))
            continue
        except Exception as exc:
            lags.append(ConsumerLag(subscription.name, stream, error=type(exc).__name__))
            continue
        lags.append(
            ConsumerLag(
                subscription.name,
                stream,
                info.num_pending or 0,
                info.num_ack_pending or 0,
                info.num_redelivered or 0,
            )
        )
    return lags
