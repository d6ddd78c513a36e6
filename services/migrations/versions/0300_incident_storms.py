"""incidents: storms group an agent's fast-failing incidents under one card and one escalation

Revision ID: 0300_incident_storms
Revises: 0003_incidents
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0300_incident_storms'
down_revision = '0003_incidents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident_storms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('agent_name', sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
    sa.Column('lead_incident_id', sa.Integer(), nullable=False),
    sa.Column('open_agent_id', sa.Integer(), nullable=True),
    sa.Column('cards', sa.JSON(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_incident_storms_agent_id'), 'incident_storms', ['agent_id'], unique=False)
    op.create_index('uq_incident_storms_open', 'incident_storms', ['open_agent_id'], unique=True)
    # A nullable column with no default: SQLite adds it in place, PostgreSQL without rewriting the table.
    op.add_column('incidents', sa.Column('storm_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_incidents_storm_id'), 'incidents', ['storm_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incidents_storm_id'), table_name='incidents')
    with op.batch_alter_table('incidents') as batch:
        batch.drop_column('storm_id')
    op.drop_index('uq_incident_storms_open', table_name='incident_storms')
    op.drop_index(op.f('ix_incident_storms_agent_id'), table_name='incident_storms')
    op.drop_table('incident_storms')
