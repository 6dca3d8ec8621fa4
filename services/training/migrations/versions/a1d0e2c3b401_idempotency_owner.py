"""kit: idempotency key owners, encrypted answers

Revision ID: a1d0e2c3b401
Revises: d3de7d6d18bc
"""

from collections.abc import Sequence

from services.kit.migration_ops import idempotency_owner_downgrade, idempotency_owner_upgrade

revision: str = "a1d0e2c3b401"
down_revision: str | Sequence[str] | None = "d3de7d6d18bc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency_owner_upgrade()


def downgrade() -> None:
    idempotency_owner_downgrade()
