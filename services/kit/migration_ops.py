"""Schema steps for the kit's own tables, called from every service's alembic revisions.

The kit's tables (outbox, inbox, dead letters, relay lease, idempotency keys) live in each
service's database, so each service's migration chain must carry their changes; the steps are
written once here and each service's revision calls them, instead of five hand copies.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def idempotency_owner_upgrade() -> None:
    """Idempotency keys name their owner process; stored answers become encrypted.

    Answers stored before were plaintext (personal numbers among them) and are not readable
    as sealed ones, so they are deleted: at worst a retry within a day runs once more, and
    the domain's own uniqueness rules still refuse true duplicates.
    """
    op.execute(sa.text("DELETE FROM kit_idempotency_keys"))
    with op.batch_alter_table("kit_idempotency_keys") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=100), nullable=True))


def idempotency_owner_downgrade() -> None:
    with op.batch_alter_table("kit_idempotency_keys") as batch:
        batch.drop_column("owner")


def outbox_parking_upgrade() -> None:
    """Outbox rows that can never be published are parked; inbox rows are deleted by age."""
    with op.batch_alter_table("kit_outbox") as batch:
        batch.add_column(sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_kit_inbox_processed_at", "kit_inbox", ["processed_at"])


def outbox_parking_downgrade() -> None:
    op.drop_index("ix_kit_inbox_processed_at", table_name="kit_inbox")
    with op.batch_alter_table("kit_outbox") as batch:
        batch.drop_column("parked_at")


def exchange_tables_upgrade() -> None:
    """The change feed (:mod:`services.kit.feed`) and the hash-chained audit log
    (:mod:`services.kit.audit_chain`)."""
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "kit_feed",
        sa.Column("seq", big, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(length=40), nullable=False),
        sa.Column("op", sa.String(length=12), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kit_feed_dataset_seq", "kit_feed", ["dataset", "seq"])
    op.create_index("ix_kit_feed_record", "kit_feed", ["dataset", "record_id"])
    op.create_table(
        "kit_audit_log",
        sa.Column("seq", big, primary_key=True, autoincrement=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("dataset", sa.String(length=40), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kit_audit_log_party", "kit_audit_log", ["party_id", "dataset"])
    op.create_table(
        "kit_audit_head",
        sa.Column("name", sa.String(length=20), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
    )


def exchange_tables_downgrade() -> None:
    op.drop_table("kit_audit_head")
    op.drop_index("ix_kit_audit_log_party", table_name="kit_audit_log")
    op.drop_table("kit_audit_log")
    op.drop_index("ix_kit_feed_record", table_name="kit_feed")
    op.drop_index("ix_kit_feed_dataset_seq", table_name="kit_feed")
    op.drop_table("kit_feed")


def agreements_table_upgrade() -> None:
    """The read model of data-sharing agreements (:mod:`services.kit.agreements`)."""
    op.create_table(
        "kit_agency_agreements",
        sa.Column("agreement_id", sa.String(length=36), primary_key=True),
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("datasets", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kit_agency_agreements_agency_id", "kit_agency_agreements", ["agency_id"])


def agreements_table_downgrade() -> None:
    op.drop_index("ix_kit_agency_agreements_agency_id", table_name="kit_agency_agreements")
    op.drop_table("kit_agency_agreements")


def party_standing_table_upgrade() -> None:
    """Suspended partners and agencies, refused at token verification
    (:mod:`services.kit.suspensions`)."""
    op.create_table(
        "kit_party_standing",
        sa.Column("role", sa.String(length=20), primary_key=True),
        sa.Column("party_id", sa.String(length=36), primary_key=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def party_standing_table_downgrade() -> None:
    op.drop_table("kit_party_standing")


def agency_keys_table_upgrade() -> None:
    """The read model of agencies' signing keys (:mod:`services.kit.agency_keys`)."""
    op.create_table(
        "kit_agency_keys",
        sa.Column("kid", sa.String(length=64), primary_key=True),
        sa.Column("agency_id", sa.String(length=36), nullable=False),
        sa.Column("jwk", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kit_agency_keys_agency_id", "kit_agency_keys", ["agency_id"])


def agency_keys_table_downgrade() -> None:
    op.drop_index("ix_kit_agency_keys_agency_id", table_name="kit_agency_keys")
    op.drop_table("kit_agency_keys")
