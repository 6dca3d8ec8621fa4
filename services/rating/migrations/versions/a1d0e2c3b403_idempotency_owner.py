"""kit: idempotency key owners, encrypted answers

Revision ID: a1d0e2c3b403
Revises: 0dc7d89b5881
"""

from collections.abc import Sequence

from services.kit.migration_ops import idempotency_owner_downgrade, idempotency_owner_upgrade

revision: str = "a1d0e2c3b403"
down_revision: str | Sequence[str] | None = "0dc7d89b5881"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    idempotency_owner_upgrade()


def downgrade() -> None:
    idempotency_owner_downgrade()
