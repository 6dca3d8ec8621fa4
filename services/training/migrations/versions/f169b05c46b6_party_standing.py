"""party standing: suspended partners and agencies, whose tokens are refused (issue 16)

Training learns suspensions from the registry's events (training-party-standing).
Every service verifies tokens offline; this table (services.kit.suspensions) is what it asks.

Revision ID: f169b05c46b6
Revises: b8c2e4f6a913
"""

from collections.abc import Sequence

from services.kit.migration_ops import party_standing_table_downgrade, party_standing_table_upgrade

revision: str = "f169b05c46b6"
down_revision: str | Sequence[str] | None = "b8c2e4f6a913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    party_standing_table_upgrade()


def downgrade() -> None:
    party_standing_table_downgrade()
