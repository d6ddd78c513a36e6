"""digests: schedules per channel and once-only runs

Revision ID: 0006_digests
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import services.db

revision = '0006_digests'
down_revision = '0001_foundation'
branch_labels = ('digests',)
depends_on = None


def upgrade() -> None:
    op.create_table('digest_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cron', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('digest_schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_schedules_channel'), ['channel'], unique=False)

    op.create_table('digest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fire_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('period_start', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('fire_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('lease_until', services.db.UTCDateTime(), nullable=False),
    sa.Column('narrative_source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('posted_at', services.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_runs_fire_key'), ['fire_key'], unique=True)
        batch_op.create_index(batch_op.f('ix_digest_runs_schedule_id'), ['schedule_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_runs_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_digest_runs_fire_key'))
    op.drop_table('digest_runs')
    with op.batch_alter_table('digest_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_schedules_channel'))
    op.drop_table('digest_schedules')
