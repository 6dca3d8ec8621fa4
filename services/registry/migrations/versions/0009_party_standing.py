"""party standing: suspended partners and agencies, whose tokens are refused (issue 16)

The registry keeps the standing of partners and agencies it suspends or reactivates in
the same transaction, so its own token verification refuses a suspended one's tokens at once.
Every service verifies tokens offline; this table (services.kit.suspensions) is what it asks.

Revision ID: 0009_party_standing
Revises: 0008_agencies
"""

from collections.abc import Sequence

from services.kit.migration_ops import party_standing_table_downgrade, party_standing_table_upgrade

revision: str = "0009_party_standing"
down_revision: str | Sequence[str] | None = "0008_agencies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    party_standing_table_upgrade()


def downgrade() -> None:
    party_standing_table_downgrade()
