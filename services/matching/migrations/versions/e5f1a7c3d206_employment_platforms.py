"""employment platforms: jobs imported from agencies, and the exchange audit chain

Jobs imported from a public employment service platform keep the agency as their source and
its own job id (unique per agency, so a re-import updates); matching's exchanges with agencies
are signed and recorded in the kit's hash-chained audit log (the kit's exchange tables); each
worker sent to a platform is recorded for the worker's own view (agency_worker_reads).

Revision ID: e5f1a7c3d206
Revises: e3b5c1a7d206
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.kit.migration_ops import exchange_tables_downgrade, exchange_tables_upgrade

revision: str = "e5f1a7c3d206"
down_revision: str | Sequence[str] | None = "e3b5c1a7d206"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency_id", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint("uq_jobs_agency_external", ["agency_id", "external_id"])
    exchange_tables_upgrade()
    op.create_table(
        "agency_worker_reads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("dataset", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("audit_hash", sa.String(length=64), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_agency_worker_reads_worker", "agency_worker_reads", ["worker_id", "read_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_agency_worker_reads_worker", table_name="agency_worker_reads")
    op.drop_table("agency_worker_reads")
    exchange_tables_downgrade()
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_jobs_agency_external", type_="unique")
        batch_op.drop_column("agency_id")
