"""core: the previous webhook secret and until when it still signs (rotate-webhook-secret)

Revision ID: 0101_core_webhook_rotation
Revises: 0100_core_event_followups
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision = '0101_core_webhook_rotation'
down_revision = '0100_core_event_followups'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.add_column(sa.Column('previous_webhook_secret_enc', sqlmodel.sql.sqltypes.AutoString(length=512),
                                   nullable=True))
        batch.add_column(sa.Column('previous_webhook_secret_expires_at', services.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agents') as batch:
        batch.drop_column('previous_webhook_secret_expires_at')
        batch.drop_column('previous_webhook_secret_enc')
