"""full worker profile, organisations, employment, consent

Revision ID: 0003_parties
Revises: 0002_identity

Adds the rest of a worker's profile to ``workers`` (batch mode, so SQLite rebuilds the table),
the status history, the track / target-group association tables the list filters use,
companies, institutions, employers, partners, employment history (with a partial unique index:
one current employment per worker) and consent. Existing workers keep their data: their JSON
``tracks`` are copied into ``worker_tracks`` and each gets a first status-history row.
"""

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003_parties"
down_revision: str | Sequence[str] | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("left_at IS NULL")


def _organisation_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_representative", sa.String(length=50), nullable=False),
        sa.Column("county", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone_encrypted", sa.String(length=200), nullable=False),
        sa.Column("contact_phone_index", sa.String(length=64), nullable=False),
        sa.Column("contact_phone_masked", sa.String(length=11), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "companies",
        *_organisation_columns(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("honours", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_code"),
    )
    with op.batch_alter_table("companies") as batch_op:
        batch_op.create_index("ix_companies_county", ["county"], unique=False)

    op.create_table(
        "institutions",
        *_organisation_columns(),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("tracks", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_code"),
    )
    with op.batch_alter_table("institutions") as batch_op:
        batch_op.create_index("ix_institutions_county", ["county"], unique=False)

    op.create_table(
        "employers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone_encrypted", sa.String(length=200), nullable=False),
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=11), nullable=False),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone_index"),
    )
    with op.batch_alter_table("employers") as batch_op:
        batch_op.create_index("ix_employers_city", ["city"], unique=False)

    op.create_table(
        "partners",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("city", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone_encrypted", sa.String(length=200), nullable=False),
        sa.Column("contact_phone_index", sa.String(length=64), nullable=False),
        sa.Column("contact_phone_masked", sa.String(length=11), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_code"),
    )

    # --- workers: the rest of the profile ---------------------------------------------------
    # No company existed before this revision, so any company_id is dangling: clear it before
    # the foreign key arrives.
    op.execute(sa.text("UPDATE workers SET company_id = NULL"))
    with op.batch_alter_table("workers") as batch_op:
        batch_op.add_column(sa.Column("education", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("target_groups", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("health_check_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("health_check_institution", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("health_check_valid_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("no_criminal_record_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("no_criminal_record_result", sa.String(length=8), nullable=True)
        )
        batch_op.add_column(sa.Column("no_criminal_record_valid_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("employment_kind", sa.String(length=16), nullable=True))
        batch_op.create_foreign_key("fk_workers_company_id", "companies", ["company_id"], ["id"])
    # The default only filled existing rows; the application always writes the column.
    with op.batch_alter_table("workers") as batch_op:
        batch_op.alter_column("target_groups", server_default=None)

    op.create_table(
        "worker_tracks",
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("track", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("worker_id", "track"),
    )
    with op.batch_alter_table("worker_tracks") as batch_op:
        batch_op.create_index("ix_worker_tracks_track", ["track", "worker_id"], unique=False)

    op.create_table(
        "worker_target_groups",
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("target_group", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("worker_id", "target_group"),
    )
    with op.batch_alter_table("worker_target_groups") as batch_op:
        batch_op.create_index(
            "ix_worker_target_groups_group", ["target_group", "worker_id"], unique=False
        )

    op.create_table(
        "worker_status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_by_role", sa.String(length=12), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("worker_status_changes") as batch_op:
        batch_op.create_index(
            "ix_worker_status_changes_worker", ["worker_id", "changed_at"], unique=False
        )

    op.create_table(
        "employments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_by", sa.String(length=64), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_by", sa.String(length=64), nullable=True),
        sa.Column("leave_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"]),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("employments") as batch_op:
        batch_op.create_index("ix_employments_company", ["company_id", "left_at"], unique=False)
        batch_op.create_index("ix_employments_worker", ["worker_id", "joined_at"], unique=False)
        # At most one current employment per worker (partial unique index on both backends).
        batch_op.create_index(
            "uq_employments_current_worker",
            ["worker_id"],
            unique=True,
            sqlite_where=CURRENT,
            postgresql_where=CURRENT,
        )

    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consents") as batch_op:
        batch_op.create_index(
            "ix_consents_worker", ["worker_id", "scope", "recipient"], unique=False
        )

    _backfill_workers()


def _backfill_workers() -> None:
    """Existing workers: tracks into worker_tracks, and a first status-history row each."""
    bind = op.get_bind()
    workers = sa.table(
        "workers",
        sa.column("id", sa.Uuid()),
        sa.column("tracks", sa.JSON()),
        sa.column("status", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    tracks = sa.table("worker_tracks", sa.column("worker_id", sa.Uuid()), sa.column("track"))
    history = sa.table(
        "worker_status_changes",
        sa.column("id", sa.Uuid()),
        sa.column("worker_id", sa.Uuid()),
        sa.column("from_status"),
        sa.column("to_status"),
        sa.column("reason"),
        sa.column("changed_by"),
        sa.column("changed_by_role"),
        sa.column("changed_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(workers.c.id, workers.c.tracks, workers.c.status, workers.c.created_at)
    ).all()
    for worker_id, worker_tracks, status, created_at in rows:
        values = json.loads(worker_tracks) if isinstance(worker_tracks, str) else worker_tracks
        for track in dict.fromkeys(values or []):
            bind.execute(sa.insert(tracks).values(worker_id=worker_id, track=track))
        bind.execute(
            sa.insert(history).values(
                id=uuid.uuid4(),
                worker_id=worker_id,
                from_status=None,
                to_status=status,
                reason="migrated from the earlier registry",
                changed_by="system",
                changed_by_role=None,
                changed_at=created_at or datetime.now(UTC),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch_op:
        batch_op.drop_index("ix_consents_worker")
    op.drop_table("consents")

    with op.batch_alter_table("employments") as batch_op:
        batch_op.drop_index(
            "uq_employments_current_worker", sqlite_where=CURRENT, postgresql_where=CURRENT
        )
        batch_op.drop_index("ix_employments_worker")
        batch_op.drop_index("ix_employments_company")
    op.drop_table("employments")

    with op.batch_alter_table("worker_status_changes") as batch_op:
        batch_op.drop_index("ix_worker_status_changes_worker")
    op.drop_table("worker_status_changes")

    with op.batch_alter_table("worker_target_groups") as batch_op:
        batch_op.drop_index("ix_worker_target_groups_group")
    op.drop_table("worker_target_groups")

    with op.batch_alter_table("worker_tracks") as batch_op:
        batch_op.drop_index("ix_worker_tracks_track")
    op.drop_table("worker_tracks")

    with op.batch_alter_table("workers") as batch_op:
        batch_op.drop_constraint("fk_workers_company_id", type_="foreignkey")
        batch_op.drop_column("employment_kind")
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("no_criminal_record_valid_until")
        batch_op.drop_column("no_criminal_record_result")
        batch_op.drop_column("no_criminal_record_date")
        batch_op.drop_column("health_check_valid_until")
        batch_op.drop_column("health_check_institution")
        batch_op.drop_column("health_check_date")
        batch_op.drop_column("target_groups")
        batch_op.drop_column("education")

    op.drop_table("partners")
    with op.batch_alter_table("employers") as batch_op:
        batch_op.drop_index("ix_employers_city")
    op.drop_table("employers")
    with op.batch_alter_table("institutions") as batch_op:
        batch_op.drop_index("ix_institutions_county")
    op.drop_table("institutions")
    with op.batch_alter_table("companies") as batch_op:
        batch_op.drop_index("ix_companies_county")
    op.drop_table("companies")
