"""outbox: delivery lanes and priorities, fenced claims, live-sender heartbeats

Revision ID: 0100_outbox_lanes
Revises: 0001_foundation
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0100_outbox_lanes'
down_revision = '0001_foundation'
branch_labels = ('outbox',)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='2'))
        batch_op.add_column(sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_index('ix_outbox_lane', ['lane', 'status', 'priority', 'id'], unique=False)
        batch_op.create_index('ix_outbox_claimed', ['claimed_until'], unique=False)
    # Rows queued before lanes existed: one lane per channel or agent, as new rows get.
    op.execute("UPDATE outbox SET lane = 'callback:' || CAST(agent_id AS VARCHAR(20)) WHERE kind = 'callback'")
    op.execute("UPDATE outbox SET lane = 'slack:' || channel WHERE kind = 'slack' AND channel IS NOT NULL")
    op.execute("UPDATE outbox SET lane = 'slack:' || order_key WHERE lane = ''")
    # And their priority: people and agents first, then edits, then channel posts (the column's default).
    op.execute("UPDATE outbox SET priority = 1 WHERE kind = 'slack' "
               "AND method NOT IN ('chat.postMessage', 'files.upload_v2')")
    op.execute("UPDATE outbox SET priority = 0 WHERE kind = 'callback' OR (method = 'chat.postMessage' "
               "AND (channel LIKE 'U%' OR channel LIKE 'W%' OR channel LIKE 'D%'))")
    op.create_table('outbox_senders',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('beat_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('outbox_senders')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_claimed')
        batch_op.drop_index('ix_outbox_lane')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('priority')
        batch_op.drop_column('lane')
