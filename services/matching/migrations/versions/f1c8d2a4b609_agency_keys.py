"""agency keys: matching's read model of the agencies' signing keys

Matching accepts a platform's job import only when signed by an active key of the calling
agency (issue 14); it knows the keys from the registry's ``registry.agency_key.changed``.

Revision ID: f1c8d2a4b609
Revises: f1646a53e116
"""

from collections.abc import Sequence

from services.kit.migration_ops import agency_keys_table_downgrade, agency_keys_table_upgrade

revision: str = "f1c8d2a4b609"
down_revision: str | Sequence[str] | None = "f1646a53e116"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    agency_keys_table_upgrade()


def downgrade() -> None:
    agency_keys_table_downgrade()
