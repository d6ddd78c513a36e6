"""hostile: per-agent rate limits (and the counters replicas share) and signed audit checkpoints

Revision ID: 0100_hostile
Revises: 0001_foundation
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0100_hostile'
down_revision = '0001_foundation'
branch_labels = ('hostile',)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_limit_per_s', sa.Float(), nullable=True))
    op.create_table('rate_limit_counters',
    sa.Column('replica', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('admitted', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('replica', 'agent_id')
    )
    op.create_index('ix_rate_limit_counters_agent', 'rate_limit_counters', ['agent_id', 'updated_at'], unique=False)
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
    op.drop_index('ix_rate_limit_counters_agent', table_name='rate_limit_counters')
    op.drop_table('rate_limit_counters')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('rate_limit_per_s')
