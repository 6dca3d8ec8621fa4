"""star assessment: finished engagements, reviews with criteria, years, policy, appeals

Revision ID: c7a9e1d2f611
Revises: b2e1f3d4c503
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "c7a9e1d2f611"
down_revision: str | Sequence[str] | None = "b2e1f3d4c503"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Version 1 of the star policy: the rule as first published (services/rating/scoring.py).
#: Frozen here on purpose: a migration seeds what was published then, whatever code says later.
V1_RULES = {
    "weights": {"employer": "0.5", "company": "0.3", "self": "0.2"},
    "thresholds": [
        {"min_score": "90", "stars": 5},
        {"min_score": "80", "stars": 4},
        {"min_score": "70", "stars": 3},
        {"min_score": "60", "stars": 2},
    ],
    "absent_sources": "redistribute",
    "min_reviews": 1,
    "capped_max_stars": 3,
    "review_window_days": 30,
    "appeal_window_days": 30,
    "appeal_decision_days": 15,
    "abuse": {
        "top_score": "95",
        "max_top_reviews_per_employer": 2,
        "burst_per_day": 3,
        "outlier_gap": "40",
    },
}


def upgrade() -> None:
    op.create_table(
        "finished_engagements",
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("employer_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("poster_account_id", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("engagement_id"),
    )
    op.create_index("ix_finished_engagements_worker_id", "finished_engagements", ["worker_id"])
    op.create_index(
        "ix_finished_engagements_poster_account_id", "finished_engagements", ["poster_account_id"]
    )
    policies = op.create_table(
        "star_policies",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )
    op.bulk_insert(
        policies,
        [
            {
                "version": 1,
                "rules": V1_RULES,
                "published_at": datetime(2026, 1, 1, tzinfo=UTC),
                "published_by": "migration",
                "note": "The rule as first published",
            }
        ],
    )
    op.create_table(
        "assessment_years",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "level_publications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("score_hundredths", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(12), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=True),
        sa.Column("contributions", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_level_publications_worker", "level_publications", ["worker_id", "year"])
    op.create_table(
        "moderation_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("score_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_moderation_actions_score_id", "moderation_actions", ["score_id"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("score_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decide_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decision_reason", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appeals_worker_id", "appeals", ["worker_id"])
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("slot", sa.String(60), nullable=True))
        batch.add_column(sa.Column("rater_party_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("engagement_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("criteria", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(10), nullable=False, server_default="visible")
        )
        batch.add_column(sa.Column("flags", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("reply", sa.String(500), nullable=True))
        batch.add_column(sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_scores_engagement", ["engagement_id"])
    # Scores from before keep their one-per-rater slot; from now on an employer review holds
    # its engagement's slot, a company evaluation its company's and a self-evaluation "self".
    op.execute("UPDATE scores SET slot = source || ':' || CAST(rater_id AS VARCHAR(36))")
    with op.batch_alter_table("scores") as batch:
        batch.alter_column("slot", existing_type=sa.String(60), nullable=False)
        batch.drop_constraint("uq_scores_rater", type_="unique")
        batch.create_unique_constraint("uq_scores_slot", ["worker_id", "year", "slot"])
    with op.batch_alter_table("worker_levels") as batch:
        # Levels computed before this revision were never closed: provisional, under version 1.
        batch.add_column(
            sa.Column("provisional", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("policy_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(
            sa.Column("contributions", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("worker_levels") as batch:
        batch.drop_column("contributions")
        batch.drop_column("policy_version")
        batch.drop_column("provisional")
    with op.batch_alter_table("scores") as batch:
        batch.drop_constraint("uq_scores_slot", type_="unique")
        batch.drop_constraint("uq_scores_engagement", type_="unique")
        for column in ("replied_at", "reply", "flags", "status", "criteria", "engagement_id"):
            batch.drop_column(column)
        batch.drop_column("rater_party_id")
        batch.drop_column("slot")
        # Fails if one rater now holds two scores of a year (two engagements): by design, a
        # downgrade must not silently drop reviews.
        batch.create_unique_constraint(
            "uq_scores_rater", ["worker_id", "year", "source", "rater_id"]
        )
    for table in (
        "appeals",
        "moderation_actions",
        "level_publications",
        "assessment_years",
        "star_policies",
        "finished_engagements",
    ):
        op.drop_table(table)
