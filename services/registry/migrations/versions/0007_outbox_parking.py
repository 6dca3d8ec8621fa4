"""kit: parked outbox rows, inbox retention index

Revision ID: 0007_outbox_parking
Revises: 0006_idempotency_owner
"""

from collections.abc import Sequence

from services.kit.migration_ops import outbox_parking_downgrade, outbox_parking_upgrade

revision: str = "0007_outbox_parking"
down_revision: str | Sequence[str] | None = "0006_idempotency_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_parking_upgrade()


def downgrade() -> None:
    outbox_parking_downgrade()
