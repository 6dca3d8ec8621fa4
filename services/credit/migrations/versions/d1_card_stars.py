"""card stars and insurance notices: the latest published star level (shown on the card's
verification page); when each policy's renewal reminder and expiry were announced

Revision ID: d1c2a3b4e5f6
Revises: ca1f2e3d4b56
Create Date: 2026-12-06 04:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "d1c2a3b4e5f6"
down_revision: str | Sequence[str] | None = "ca1f2e3d4b56"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("card_worker_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stars", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stars_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stars_as_of", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("insurance_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("expiry_announced_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("insurance_policies", schema=None) as batch_op:
        batch_op.drop_column("expiry_announced_at")
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("card_worker_facts", schema=None) as batch_op:
        batch_op.drop_column("stars_as_of")
        batch_op.drop_column("stars_year")
        batch_op.drop_column("stars")
