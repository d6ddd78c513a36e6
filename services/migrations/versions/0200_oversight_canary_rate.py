"""oversight: each agent's canary rate (known-bad test drafts per real draft)

Revision ID: 0200_oversight_canary_rate
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = '0200_oversight_canary_rate'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('canary_rate', sa.Float(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('canary_rate')
