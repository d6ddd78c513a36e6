"""runs: runs

Revision ID: 0004_runs
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import services.db

revision = '0004_runs'
down_revision = '0001_foundation'
branch_labels = ('runs',)
depends_on = None


def upgrade() -> None:
    op.create_table('runs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('expect_heartbeat_every_s', sa.Integer(), nullable=False),
    sa.Column('grace_s', sa.Integer(), nullable=False),
    sa.Column('max_duration_s', sa.Integer(), nullable=True),
    sa.Column('halt_policy', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('last_step', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('beats', sa.Integer(), nullable=False),
    sa.Column('started_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('last_beat_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('deadline_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('halted_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('halt_reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('halts', sa.Integer(), nullable=False),
    sa.Column('recovered_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('halt_decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('halt_decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('halt_decided_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', services.db.UTCDateTime(), nullable=True),
    sa.Column('finish_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_runs_agent_id'), 'runs', ['agent_id'], unique=False)
    op.create_index('ix_runs_status_deadline', 'runs', ['status', 'deadline_at'], unique=False)


def downgrade() -> None:
    op.drop_table('runs')
