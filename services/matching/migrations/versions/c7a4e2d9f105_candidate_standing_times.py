"""candidates: a producer time per credit standing field (level, card, list)

One shared time let a card event make a later-delivered level event of the same transaction
look stale (a repaired worker stayed at the old level in matching). Existing rows keep the
shared time for all three.

Revision ID: c7a4e2d9f105
Revises: dde87c88138a
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7a4e2d9f105"
down_revision: str | Sequence[str] | None = "dde87c88138a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.alter_column(
            "standing_changed_at",
            new_column_name="list_status_changed_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=True,
        )
        batch_op.add_column(
            sa.Column("credit_level_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("card_status_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE candidates SET credit_level_changed_at = list_status_changed_at, "
        "card_status_changed_at = list_status_changed_at"
    )


def downgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_column("card_status_changed_at")
        batch_op.drop_column("credit_level_changed_at")
        batch_op.alter_column(
            "list_status_changed_at",
            new_column_name="standing_changed_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=True,
        )
