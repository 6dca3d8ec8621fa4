"""brand: cases and model workers, nominations, the skill-master roll, top companies, counties

Revision ID: d4b8a2c6e701
Revises: d3b8f0a2c715
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4b8a2c6e701"
down_revision: str | Sequence[str] | None = "d3b8f0a2c715"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "brand_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("county", sa.String(12), nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("nomination_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("published_at", TZ, nullable=True),
        sa.Column("withdrawn_at", TZ, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_brand_cases_kind_state", "brand_cases", ["kind", "state"])
    op.create_table(
        "brand_case_photos",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("media_type", sa.String(20), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "brand_nominations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("county", sa.String(12), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("nominated_by", sa.String(64), nullable=False),
        sa.Column("nominator_role", sa.String(12), nullable=False),
        sa.Column("nominator_party_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decision_reason", sa.String(500), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_brand_nominations_status", "brand_nominations", ["status"])
    op.create_table(
        "brand_workers",
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("masked_name", sa.String(200), nullable=False),
        sa.Column("county", sa.String(12), nullable=False),
        sa.Column("as_of", TZ, nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    op.create_table(
        "brand_skill_masters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("award_id", sa.Uuid(), nullable=False),
        sa.Column("competition_id", sa.Uuid(), nullable=False),
        sa.Column("competition_title", sa.String(200), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.String(20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("awarded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("award_id", name="uq_brand_skill_masters_award"),
    )
    op.create_index("ix_brand_skill_masters_worker_id", "brand_skill_masters", ["worker_id"])
    op.create_index("ix_brand_skill_masters_year", "brand_skill_masters", ["year"])
    op.create_table(
        "brand_top_companies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("citation", sa.JSON(), nullable=True),
        sa.Column("county", sa.String(12), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "rank", name="uq_brand_top_companies_rank"),
    )
    op.create_table(
        "brand_counties",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county", sa.String(12), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("slogan", sa.JSON(), nullable=False),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("county", name="uq_brand_counties_county"),
    )


def downgrade() -> None:
    for table in (
        "brand_counties",
        "brand_top_companies",
        "brand_skill_masters",
        "brand_workers",
        "brand_nominations",
        "brand_case_photos",
        "brand_cases",
    ):
        op.drop_table(table)
