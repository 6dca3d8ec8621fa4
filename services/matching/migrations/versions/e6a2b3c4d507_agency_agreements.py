"""agency agreements: matching's read model of the registry's data-sharing agreements

Matching serves agencies the hires change feed (issue 14) and decides at each read, from this
read model, whether an agreement in force names the dataset and which fields.

Revision ID: e6a2b3c4d507
Revises: e5f1a7c3d206
"""

from collections.abc import Sequence

from services.kit.migration_ops import agreements_table_downgrade, agreements_table_upgrade

revision: str = "e6a2b3c4d507"
down_revision: str | Sequence[str] | None = "e5f1a7c3d206"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    agreements_table_upgrade()


def downgrade() -> None:
    agreements_table_downgrade()
