"""drafts: drafts awaiting a decision and their approvals

Revision ID: 0002_drafts
Revises: 0001_foundation
Create Date: 2026-11-21 05:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import services.db

revision = '0002_drafts'
down_revision = '0001_foundation'
branch_labels = ('drafts',)
depends_on = None


def upgrade() -> None:
    op.create_table('drafts',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_is_json', sa.Boolean(), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('final_body', sa.Text(), nullable=True),
    sa.Column('edited_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('decided_by', sa.JSON(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('decided_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('remind_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('reminded', sa.Boolean(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('prompt_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('approvals_required', sa.Integer(), nullable=False),
    sa.Column('approvals', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('high_risk', sa.Boolean(), nullable=False),
    sa.Column('review_reasons', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index('ix_drafts_agent_status', ['agent_id', 'status'], unique=False)
        batch_op.create_index('ix_drafts_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_drafts_status_remind', ['status', 'remind_at'], unique=False)

    op.create_table('draft_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draft_id', 'user_id', name='uq_draft_votes_draft_user')
    )
    with op.batch_alter_table('draft_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_votes_draft_id'), ['draft_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('draft_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_votes_draft_id'))

    op.drop_table('draft_votes')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_drafts_status_remind')
        batch_op.drop_index('ix_drafts_status_expires')
        batch_op.drop_index('ix_drafts_agent_status')

    op.drop_table('drafts')
