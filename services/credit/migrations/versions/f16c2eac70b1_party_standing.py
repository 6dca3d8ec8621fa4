"""party standing: suspended partners and agencies, whose tokens are refused (issue 16)

Credit learns suspensions from the registry's events (credit-party-standing).
Every service verifies tokens offline; this table (services.kit.suspensions) is what it asks.

Revision ID: f16c2eac70b1
Revises: d1c2a3b4e5f6
"""

from collections.abc import Sequence

from services.kit.migration_ops import party_standing_table_downgrade, party_standing_table_upgrade

revision: str = "f16c2eac70b1"
down_revision: str | Sequence[str] | None = "d1c2a3b4e5f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    party_standing_table_upgrade()


def downgrade() -> None:
    party_standing_table_downgrade()
