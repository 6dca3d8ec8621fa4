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
