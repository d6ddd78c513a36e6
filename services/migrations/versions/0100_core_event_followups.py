"""core: after-commit follow-ups of domain events (services/events.py)

Revision ID: 0100_core_event_followups
Revises: 0001_foundation
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0100_core_event_followups'
down_revision = '0001_foundation'
branch_labels = ('core_events',)
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_followups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('reaction', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('refs', sa.JSON(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('due_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('done_at', services.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_event_followups_status_due', 'event_followups', ['status', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_event_followups_status_due', table_name='event_followups')
    op.drop_table('event_followups')
