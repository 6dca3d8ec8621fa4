"""agency feeds: credit's change feeds, exchange audit chain and agreements read model

Credit serves agencies change feeds of certificates, cards, credit levels and lists (issue 14):
the kit's exchange tables (the feed log and the hash-chained audit log) and the read model of
the registry's data-sharing agreements that decides, at each read, what an agency may receive.

Revision ID: ca1f2e3d4b56
Revises: c9b1e2d3a4f5
Create Date: 2026-12-06 04:20:00.000000

"""

from collections.abc import Sequence

from services.kit.migration_ops import (
    agreements_table_downgrade,
    agreements_table_upgrade,
    exchange_tables_downgrade,
    exchange_tables_upgrade,
)

# revision identifiers, used by Alembic.
revision: str = "ca1f2e3d4b56"
down_revision: str | Sequence[str] | None = "c9b1e2d3a4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    exchange_tables_upgrade()
    agreements_table_upgrade()


def downgrade() -> None:
    agreements_table_downgrade()
    exchange_tables_downgrade()
