"""competition awards: the 肇庆市技术能手 title certificates credit issues to winners

Revision ID: c9b1e2d3a4f5
Revises: c8a1d2e3f4a5
Create Date: 2026-12-05 23:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c9b1e2d3a4f5"
down_revision: str | Sequence[str] | None = "c8a1d2e3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "competition_awards",
        sa.Column("award_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("competition_title", sa.String(length=200), nullable=False),
        sa.Column("track", sa.String(length=20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("total_score", sa.Float(), nullable=False),
        sa.Column("title", sa.String(length=30), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("award_id", name=op.f("pk_competition_awards")),
        sa.UniqueConstraint("certificate_id", name=op.f("uq_competition_awards_certificate_id")),
    )
    with op.batch_alter_table("competition_awards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_competition_awards_worker_id"), ["worker_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("competition_awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competition_awards_worker_id"))
    op.drop_table("competition_awards")
