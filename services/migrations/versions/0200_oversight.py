"""oversight: canary drafts, the canaries and where they were posted, prompt and model changes for their owner

Revision ID: 0200_oversight
Revises: 0002_drafts
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0200_oversight'
down_revision = '0002_drafts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('is_canary', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('oversight_canaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('why_bad', sa.Text(), nullable=False),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_oversight_canaries_agent_id', 'oversight_canaries', ['agent_id'], unique=False)
    op.create_table('oversight_canary_posts',
    sa.Column('draft_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('canary_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('posted_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('outcome_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('outcome_at', services.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('draft_id'),
    sa.UniqueConstraint('agent_id', 'seq', name='uq_oversight_canary_posts_seq')
    )
    op.create_index('ix_oversight_canary_posts_canary_id', 'oversight_canary_posts', ['canary_id'], unique=False)
    op.create_table('oversight_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('base_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('diff', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('decided_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('replay', sa.JSON(), nullable=True),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agent_id', 'action', 'kind', 'version', name='uq_oversight_changes_key')
    )
    op.create_index('ix_oversight_changes_status', 'oversight_changes', ['agent_id', 'action', 'kind', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_oversight_changes_status', table_name='oversight_changes')
    op.drop_table('oversight_changes')
    op.drop_index('ix_oversight_canary_posts_canary_id', table_name='oversight_canary_posts')
    op.drop_table('oversight_canary_posts')
    op.drop_index('ix_oversight_canaries_agent_id', table_name='oversight_canaries')
    op.drop_table('oversight_canaries')
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('is_canary')
