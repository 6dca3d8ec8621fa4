"""jobs: an optional expiry time; expired jobs leave the board and take no applications

Revision ID: e3b5c1a7d206
Revises: c7a4e2d9f105
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3b5c1a7d206"
down_revision: str | Sequence[str] | None = "c7a4e2d9f105"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        # The sweep's lookup: open or paused jobs whose time has passed.
        batch_op.create_index("ix_jobs_expiry", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_expiry")
        batch_op.drop_column("expires_at")
