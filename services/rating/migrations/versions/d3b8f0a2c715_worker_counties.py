"""worker counties: the read model of each worker's county (consumer rating-counties), for the
officers' statistics by county (issue 12)

Revision ID: d3b8f0a2c715
Revises: c7a9e1d2f611
Create Date: 2026-12-06 01:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d3b8f0a2c715"
down_revision: str | Sequence[str] | None = "c7a9e1d2f611"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_counties",
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("county", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    with op.batch_alter_table("worker_counties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_counties_county"), ["county"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("worker_counties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_counties_county"))
    op.drop_table("worker_counties")
