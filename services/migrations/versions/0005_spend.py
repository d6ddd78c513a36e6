"""spend: usage events, daily rollups, team/global budgets, price overrides, once-only alerts

Revision ID: 0005_spend
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import services.db

revision = '0005_spend'
down_revision = '0001_foundation'
branch_labels = ('spend',)
depends_on = None


def upgrade() -> None:
    op.create_table('usage_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('cached_tokens', sa.Integer(), nullable=False),
    sa.Column('reasoning_tokens', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('cost_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('price', sa.JSON(), nullable=True),
    sa.Column('draft_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agent_id', 'request_id', name='uq_usage_request')
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_events_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_events_draft_id'), ['draft_id'], unique=False)

    op.create_table('spend_rollups',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('waste_usd', sa.Float(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('unknown_cost_events', sa.Integer(), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('cached_tokens', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agent_id', 'model', 'day')
    )
    with op.batch_alter_table('spend_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_spend_rollups_day', ['day'], unique=False)

    op.create_table('spend_budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('limit_usd', sa.Float(), nullable=False),
    sa.Column('on_exceed', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('thresholds', sa.JSON(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope_key', 'period', name='uq_spend_budget_scope_period')
    )
    op.create_table('price_overrides',
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('input_per_mtok', sa.Float(), nullable=False),
    sa.Column('cached_input_per_mtok', sa.Float(), nullable=True),
    sa.Column('output_per_mtok', sa.Float(), nullable=False),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('model')
    )
    op.create_table('spend_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('period_start', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('spent_usd', sa.Float(), nullable=True),
    sa.Column('limit_usd', sa.Float(), nullable=True),
    sa.Column('waived_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'threshold', 'period_start', name='uq_spend_alert')
    )


def downgrade() -> None:
    op.drop_table('spend_alerts')
    op.drop_table('price_overrides')
    op.drop_table('spend_budgets')
    with op.batch_alter_table('spend_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_spend_rollups_day')
    op.drop_table('spend_rollups')
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_events_draft_id'))
        batch_op.drop_index(batch_op.f('ix_usage_events_agent_id'))
    op.drop_table('usage_events')
