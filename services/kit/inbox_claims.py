"""The inbox's claim: the rows that mark events as applied by one consumer.

Written in the transaction that applies the events, so an event's effects and its row commit
together; an event whose row is there already was applied before and is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from services.kit.dialect import insert_for, per_dialect
from services.kit.statements import Statement
from services.kit.tables import inbox
from services.kit.transactions import Transaction
from services.kit.types import utcnow


@per_dialect
def _claim_statement(dialect: str) -> Statement:
    """The inbox claim, built once per dialect (building it and its cache key per batch
    cost ~25 µs)."""
    return Statement(
        insert_for(dialect, inbox)
        .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
        .returning(inbox.c.event_id)
    )


#: The inbox claim of a whole batch on PostgreSQL, the ids and their types as two arrays
#: (``unnest`` pairs them up): one prepared statement whatever the batch's size.
_CLAIM_ARRAYS = Statement(
    postgresql.insert(inbox)
    .from_select(
        ["consumer", "event_id", "event_type", "processed_at"],
        select(
            bindparam("consumer", type_=inbox.c.consumer.type),
            func.unnest(bindparam("event_ids", type_=ARRAY(inbox.c.event_id.type))),
            func.unnest(bindparam("event_types", type_=ARRAY(inbox.c.event_type.type))),
            bindparam("processed_at", type_=inbox.c.processed_at.type),
        ),
    )
    .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
    .returning(inbox.c.event_id)
)


async def claim(
    session: AsyncSession,
    consumer: str,
    events: Sequence[tuple[CloudEvent[Any], EventData]],
    ids: Sequence[str],
) -> set[str]:
    """Insert the inbox rows of ``ids`` that are not there yet; returns those (unseen).

    One ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` instead of a SELECT for the seen ones
    and an INSERT for the rest. On PostgreSQL a concurrent delivery of the same event waits
    on our uncommitted row and then skips it (or takes it, if we roll back); ``ids`` come
    sorted so two batches lock their rows in the same order and cannot deadlock.
    """
    types = {envelope.id: envelope.type for envelope, _ in events}
    now = utcnow()
    result = await session.execute(
        _claim_statement(session).statement,
        [
            {
                "consumer": consumer,
                "event_id": event_id,
                "event_type": types[event_id],
                "processed_at": now,
            }
            for event_id in ids
        ],
    )
    return set(result.scalars().all())


async def claim_in(
    tx: Transaction,
    consumer: str,
    events: Sequence[tuple[CloudEvent[Any], EventData]],
    ids: Sequence[str],
) -> set[str]:
    """:func:`claim` in a transaction: on PostgreSQL one statement for the batch (the ids
    and types as two arrays), on SQLite one cheap in-process statement per event."""
    types = {envelope.id: envelope.type for envelope, _ in events}
    now = utcnow()
    if tx.dialect_name == "postgresql":
        rows = await tx.fetch(
            _CLAIM_ARRAYS,
            consumer=consumer,
            event_ids=list(ids),
            event_types=[types[i] for i in ids],
            processed_at=now,
        )
        return {row.event_id for row in rows}
    claimed: set[str] = set()
    statement = _claim_statement(tx)
    for event_id in ids:
        rows = await tx.fetch(
            statement,
            consumer=consumer,
            event_id=event_id,
            event_type=types[event_id],
            processed_at=now,
        )
        claimed.update(row.event_id for row in rows)
    return claimed
