"""autonomy: earned levels per (agent, action, prompt version), evidence, audit samples, regression alerts

Revision ID: 0007_autonomy
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import services.db

revision = '0007_autonomy'
down_revision = '0001_foundation'
branch_labels = ('autonomy',)
depends_on = None


def upgrade() -> None:
    op.create_table('autonomy_actions',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('configured', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('granted_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('agent_id', 'action')
    )
    op.create_table('autonomy_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('prompt_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('edit_distance', sa.Float(), nullable=True),
    sa.Column('decided_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draft_id')
    )
    op.create_index('ix_autonomy_evidence_key', 'autonomy_evidence', ['agent_id', 'action', 'prompt_version', 'id'], unique=False)
    op.create_table('autonomy_regressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('dimension', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('old', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('new', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agent_id', 'action', 'dimension', 'old', 'new', name='uq_autonomy_regressions_pair')
    )
    op.create_table('autonomy_samples',
    sa.Column('draft_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('prompt_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('judged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('judged_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('draft_id')
    )
    op.create_index(op.f('ix_autonomy_samples_agent_id'), 'autonomy_samples', ['agent_id'], unique=False)
    op.create_table('autonomy_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('prompt_version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('granted_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('demoted_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('demoted_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('proposal', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('proposals', sa.Integer(), nullable=False),
    sa.Column('repropose_after', sa.Integer(), nullable=False),
    sa.Column('decisions_total', sa.Integer(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agent_id', 'action', 'prompt_version', name='uq_autonomy_states_key')
    )
    op.create_index(op.f('ix_autonomy_states_agent_id'), 'autonomy_states', ['agent_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_autonomy_states_agent_id'), table_name='autonomy_states')
    op.drop_table('autonomy_states')
    op.drop_index(op.f('ix_autonomy_samples_agent_id'), table_name='autonomy_samples')
    op.drop_table('autonomy_samples')
    op.drop_table('autonomy_regressions')
    op.drop_index('ix_autonomy_evidence_key', table_name='autonomy_evidence')
    op.drop_table('autonomy_evidence')
    op.drop_table('autonomy_actions')
