"""web sign-in: one-time login links and browser sessions (hashes only)

Revision ID: 0100_web_signin
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import services.db

revision = '0100_web_signin'
down_revision = '0001_foundation'
branch_labels = ('signin',)
depends_on = None


def upgrade() -> None:
    op.create_table('web_login_links',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', services.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_web_login_links_expires_at', 'web_login_links', ['expires_at'], unique=False)
    op.create_table('web_sessions',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('csrf_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', services.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_web_sessions_user_id', 'web_sessions', ['user_id'], unique=False)
    op.create_index('ix_web_sessions_expires_at', 'web_sessions', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_sessions_expires_at', table_name='web_sessions')
    op.drop_index('ix_web_sessions_user_id', table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_index('ix_web_login_links_expires_at', table_name='web_login_links')
    op.drop_table('web_login_links')
