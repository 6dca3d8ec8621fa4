"""party standing: suspended partners and agencies, whose tokens are refused (issue 16)

Rating learns suspensions from the registry's events (rating-party-standing).
Every service verifies tokens offline; this table (services.kit.suspensions) is what it asks.

Revision ID: f16b3e6cbf0a
Revises: d4b8a2c6e701
"""

from collections.abc import Sequence

from services.kit.migration_ops import party_standing_table_downgrade, party_standing_table_upgrade

revision: str = "f16b3e6cbf0a"
down_revision: str | Sequence[str] | None = "d4b8a2c6e701"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    party_standing_table_upgrade()


def downgrade() -> None:
    party_standing_table_downgrade()
