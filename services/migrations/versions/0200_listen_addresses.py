"""listen addresses: where a running `countersign serve` bound, so the CLI's links name it

Revision ID: 0200_listen_addresses
Revises: 0100_web_signin
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0200_listen_addresses'
down_revision = '0100_web_signin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('listen_addresses',
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('started_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('url')
    )


def downgrade() -> None:
    op.drop_table('listen_addresses')
