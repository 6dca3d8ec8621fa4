"""What a service subscribes to: a durable consumer's name, subjects and handlers.

:class:`~services.kit.inbox.ConsumerRunner` runs a :class:`Subscription` against the bus; each
service lists its own in ``handlers.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent, EventData
from services.kit.transactions import Transaction

Handler = Callable[[AsyncSession, CloudEvent[Any], EventData], Awaitable[None]]
#: Applies several events at once, in their order, with set-based statements.
BatchHandler = Callable[
    [AsyncSession, Sequence[tuple[CloudEvent[Any], EventData]]], Awaitable[None]
]
#: Applies one or more events, in their order, with Core statements on the plain driver.
TransactionHandler = Callable[
    [Transaction, Sequence[tuple[CloudEvent[Any], EventData]]], Awaitable[None]
]


class NeedsSession(Exception):
    """Raised by a :data:`TransactionHandler` for events it does not apply itself (say, a
    rare case that needs the ORM): its transaction rolls back, and the runner applies the
    same events again in a session, through the subscription's session handlers."""


@dataclass(frozen=True)
class Subscription:
    """A durable pull consumer named ``<consumer-service>-<purpose>`` and its handler."""

    name: str
    subjects: Sequence[str]
    handler: Handler
    stream: str = ""
    #: Optional: applies a whole batch (in delivery order) in the inbox's transaction, with a
    #: few statements for all its events instead of a few per event. It must leave the same
    #: state as ``handler`` applied to each event in turn. A failing batch is retried one
    #: event at a time (through this same function), so only the failing event is retried.
    batch_handler: BatchHandler | None = None
    #: Optional: applies the events (one or many) in ``Database.transaction()``, where the
    #: inbox rows are written too: the hot path, straight on the driver. It must leave what
    #: the session handlers leave; for events it does not handle it raises
    #: :class:`NeedsSession`, and so does a constraint it trips (a concurrent delivery):
    #: both roll back and go through the session path, which knows how to settle them.
    transaction_handler: TransactionHandler | None = None
    #: Seconds to gather more events once one has arrived, for a projection whose readers do
    #: not wait on each event: at 200 events/s, 50 ms turns ~10 one-event transactions into
    #: one. Consumers on a path someone waits for (a certificate reaching the candidates)
    #: keep 0.
    linger: float = 0.0

    def stream_name(self) -> str:
        if self.stream:
            return self.stream
        producer = self.subjects[0].split(".", 1)[0]
        return producer.upper()
