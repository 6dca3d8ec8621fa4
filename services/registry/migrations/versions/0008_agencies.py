"""registry: agencies, their keys and data-sharing agreements; agency OAuth clients; the kit's
change feed and hash-chained audit log

Revision ID: 0008_agencies
Revises: 0007_outbox_parking
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.kit.migration_ops import exchange_tables_downgrade, exchange_tables_upgrade

revision: str = "0008_agencies"
down_revision: str | Sequence[str] | None = "0007_outbox_parking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False, unique=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "agency_keys",
        sa.Column("kid", sa.String(length=64), primary_key=True),
        sa.Column(
            "agency_id",
            sa.Uuid(),
            sa.ForeignKey("agencies.id", name="fk_agency_keys_agency_id"),
            nullable=False,
        ),
        sa.Column("jwk", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_agency_keys_agency_id", "agency_keys", ["agency_id"])
    op.create_table(
        "sharing_agreements",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "agency_id",
            sa.Uuid(),
            sa.ForeignKey("agencies.id", name="fk_sharing_agreements_agency_id"),
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sharing_agreements_agency_id", "sharing_agreements", ["agency_id"])
    op.create_table(
        "agency_reads",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("dataset", sa.String(length=40), nullable=False),
        sa.Column("after_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("audit_hash", sa.String(length=64), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agency_reads_agency_id", "agency_reads", ["agency_id"])
    op.create_index(
        "ix_agency_reads_range", "agency_reads", ["dataset", "after_seq", "last_seq"]
    )
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(
            sa.Column(
                "party_kind", sa.String(length=10), nullable=False, server_default="partner"
            )
        )
    exchange_tables_upgrade()


def downgrade() -> None:
    exchange_tables_downgrade()
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("party_kind")
    op.drop_index("ix_agency_reads_range", table_name="agency_reads")
    op.drop_index("ix_agency_reads_agency_id", table_name="agency_reads")
    op.drop_table("agency_reads")
    op.drop_index("ix_sharing_agreements_agency_id", table_name="sharing_agreements")
    op.drop_table("sharing_agreements")
    op.drop_index("ix_agency_keys_agency_id", table_name="agency_keys")
    op.drop_table("agency_keys")
    op.drop_table("agencies")
