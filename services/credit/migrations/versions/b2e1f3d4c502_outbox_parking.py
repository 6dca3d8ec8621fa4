"""kit: parked outbox rows, inbox retention index

Revision ID: b2e1f3d4c502
Revises: 24429b9f5ea6
"""

from collections.abc import Sequence

from services.kit.migration_ops import outbox_parking_downgrade, outbox_parking_upgrade

revision: str = "b2e1f3d4c502"
down_revision: str | Sequence[str] | None = "24429b9f5ea6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_parking_upgrade()


def downgrade() -> None:
    outbox_parking_downgrade()
