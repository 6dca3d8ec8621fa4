"""party standing: suspended partners and agencies, whose tokens are refused (issue 16)

Matching learns suspensions from the registry's events (matching-party-standing).
Every service verifies tokens offline; this table (services.kit.suspensions) is what it asks.

Revision ID: f1646a53e116
Revises: e6a2b3c4d507
"""

from collections.abc import Sequence

from services.kit.migration_ops import party_standing_table_downgrade, party_standing_table_upgrade

revision: str = "f1646a53e116"
down_revision: str | Sequence[str] | None = "e6a2b3c4d507"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    party_standing_table_upgrade()


def downgrade() -> None:
    party_standing_table_downgrade()
