"""The kit's own tables, present in every service database beside its domain tables.

They are infrastructure (outbox, inbox, dead letters, relay lease), not shared domain models:
each service's alembic environment targets ``[Base.metadata, kit_metadata]``.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from services.kit.types import BigIntPK, UtcDateTime

kit_metadata = MetaData()
#: Kit tables a service opts into (change feeds, the exchange audit chain: services/kit/feed.py
#: and audit_chain.py): only the alembic environments of services that serve feeds target it.
exchange_metadata = MetaData()

#: Events written in the same transaction as the state change; the relay publishes them.
outbox = Table(
    "kit_outbox",
    kit_metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("aggregate_id", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    #: Set when the row can never be published as it is (the relay holds back its aggregate).
    Column("parked_at", UtcDateTime, nullable=True),
)
Index("ix_kit_outbox_pending", outbox.c.published_at, outbox.c.seq)

#: Events a consumer has applied; the key makes redelivery a no-op.
inbox = Table(
    "kit_inbox",
    kit_metadata,
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("processed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_kit_inbox"),
)
#: Retention deletes by age.
Index("ix_kit_inbox_processed_at", inbox.c.processed_at)

#: Events a consumer gave up on after max_deliver attempts; operators list and replay them.
dead_letters = Table(
    "kit_dead_letters",
    kit_metadata,
    Column("id", String(36), primary_key=True),
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("event_type", String(200), nullable=True),
    Column("payload", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
    Column("replayed_at", UtcDateTime, nullable=True),
    UniqueConstraint("consumer", "event_id", name="uq_kit_dead_letters_consumer_event"),
)

#: Who may run the outbox relay now; one holder at a time keeps per-aggregate order.
#: ``expires_at`` is in the database's clock (epoch seconds), see services.kit.relay_lease.
relay_lease = Table(
    "kit_relay_lease",
    kit_metadata,
    Column("name", String(50), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", Double, nullable=False),
)

#: Responses to POSTs that carried an Idempotency-Key, so a retried request gets the same
#: answer instead of doing the work twice. ``status`` is null while the first is in flight.
#: ``caller`` is a hash of the token's role and subject.
idempotency_keys = Table(
    "kit_idempotency_keys",
    kit_metadata,
    Column("caller", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True),
    Column("content_type", String(200), nullable=True),
    Column("location", String(500), nullable=True),
    #: Encrypted (AES-GCM); null once finished means the answer was withheld (credentials).
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    #: While in flight: the process handling it (services.kit.liveness), so a retry can free
    #: the key as soon as that process is dead.
    Column("owner", String(100), nullable=True),
    PrimaryKeyConstraint("caller", "key", name="pk_kit_idempotency_keys"),
)
Index("ix_kit_idempotency_keys_created_at", idempotency_keys.c.created_at)
