"""kit: idempotency key owners, encrypted answers

Revision ID: 0006_idempotency_owner
Revises: 0005_idempotency
"""

from collections.abc import Sequence

from services.kit.migration_ops import idempotency_owner_downgrade, idempotency_owner_upgrade

revision: str = "0006_idempotency_owner"
down_revision: str | Sequence[str] | None = "0005_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency_owner_upgrade()


def downgrade() -> None:
    idempotency_owner_downgrade()
