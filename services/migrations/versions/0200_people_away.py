"""people away: who stands in for whom until when

Revision ID: 0200_people_away
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import services.db

revision = '0200_people_away'
down_revision = '0001_foundation'
branch_labels = ('people',)
depends_on = None


def upgrade() -> None:
    op.create_table('people_away',
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('delegate', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('until', services.db.UTCDateTime(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('set_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_index('ix_people_away_delegate', 'people_away', ['delegate'], unique=False)
    op.create_index('ix_people_away_until', 'people_away', ['until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_people_away_until', table_name='people_away')
    op.drop_index('ix_people_away_delegate', table_name='people_away')
    op.drop_table('people_away')
