"""kit idempotency keys

Revision ID: 0005_idempotency
Revises: 0004_exchange
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_idempotency"
down_revision: str | Sequence[str] | None = "0004_exchange"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kit_idempotency_keys",
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key", name="pk_kit_idempotency_keys"),
    )
    with op.batch_alter_table("kit_idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kit_idempotency_keys_created_at", ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("kit_idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_kit_idempotency_keys_created_at")
    op.drop_table("kit_idempotency_keys")
