"""kit: parked outbox rows, inbox retention index

Revision ID: b2e1f3d4c503
Revises: a1d0e2c3b403
"""

from collections.abc import Sequence

from services.kit.migration_ops import outbox_parking_downgrade, outbox_parking_upgrade

revision: str = "b2e1f3d4c503"
down_revision: str | Sequence[str] | None = "a1d0e2c3b403"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_parking_upgrade()


def downgrade() -> None:
    outbox_parking_downgrade()
