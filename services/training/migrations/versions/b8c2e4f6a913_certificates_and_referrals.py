"""known certificates (skills record) and venture referrals

Revision ID: b8c2e4f6a913
Revises: d4b1e8f2a716
Create Date: 2026-12-06 04:20:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'b8c2e4f6a913'
down_revision: Union[str, Sequence[str], None] = 'd4b1e8f2a716'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('known_certificates',
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('worker_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('track', sa.String(length=20), nullable=True),
    sa.Column('course_id', sa.Uuid(), nullable=True),
    sa.Column('enrollment_id', sa.Uuid(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('certificate_id', name=op.f('pk_known_certificates'))
    )
    with op.batch_alter_table('known_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_known_certificates_worker_id'), ['worker_id'], unique=False)

    op.create_table('venture_referrals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('venture_id', sa.Uuid(), nullable=False),
    sa.Column('to_kind', sa.String(length=20), nullable=False),
    sa.Column('to_name', sa.String(length=200), nullable=False),
    sa.Column('base_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('referred_by', sa.String(length=64), nullable=False),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['venture_id'], ['ventures.id'], name=op.f('fk_venture_referrals_venture_id_ventures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venture_referrals'))
    )
    with op.batch_alter_table('venture_referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venture_referrals_venture_id'), ['venture_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('venture_referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venture_referrals_venture_id'))
    op.drop_table('venture_referrals')
    with op.batch_alter_table('known_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_known_certificates_worker_id'))
    op.drop_table('known_certificates')
