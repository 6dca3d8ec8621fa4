"""accounts, tokens, signing keys, oauth clients

Revision ID: 0002_identity
Revises: 7b8d1a16adb3
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0002_identity"
down_revision: str | Sequence[str] | None = "7b8d1a16adb3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
