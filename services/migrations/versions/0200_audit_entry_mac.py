"""audit entries carry a MAC from the server key; entries whose MAC fails are refused, never sealed

Revision ID: 0200_audit_entry_mac
Revises: 0001_foundation
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0200_audit_entry_mac'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('refused', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('refused')
        batch_op.drop_column('mac')
