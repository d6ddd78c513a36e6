"""drafts: approval stages (a snapshot per draft), the timeout policy, claims; votes name their stage

Revision ID: 0200_draft_stages
Revises: 0002_drafts
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0200_draft_stages'
down_revision = '0002_drafts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stages', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('stage_index', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('on_timeout', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='deny'))
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', services.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalate_at', services.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalation_step', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('ix_drafts_status_escalate', ['status', 'escalate_at'], unique=False)
    with op.batch_alter_table('draft_votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('draft_votes', schema=None) as batch_op:
        batch_op.drop_column('stage')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_drafts_status_escalate')
        for column in ('escalation_step', 'escalate_at', 'claimed_at', 'claimed_by', 'on_timeout', 'stage_index',
                       'stages'):
            batch_op.drop_column(column)
