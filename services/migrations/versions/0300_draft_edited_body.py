"""drafts: the reviewer's edit gets a column named for it (edited_body); the approved text is derived

The column held two things: a reviewer's edit while the draft was pending, and the approved text once decided
(the body itself when approved as drafted). It now holds only the edit; the approved text is the edit if there
is one, else the body (Draft.current_text), which is what the API's final_body has always been.

Revision ID: 0300_draft_edited_body
Revises: 0002_drafts
"""
import sqlalchemy as sa
from alembic import op

revision = '0300_draft_edited_body'
down_revision = '0002_drafts'
branch_labels = None
depends_on = None

# The statuses whose row carried the approved text (services.drafts.models.APPROVED_STATUSES).
_APPROVED = "('approved', 'edited', 'auto_approved')"


def upgrade() -> None:
    # RENAME COLUMN is the same statement on PostgreSQL and SQLite (3.25+), and copies no rows.
    op.execute(sa.text("ALTER TABLE drafts RENAME COLUMN final_body TO edited_body"))
    # An approval without an edit stored the body again: that is no edit.
    op.execute(sa.text("UPDATE drafts SET edited_body = NULL WHERE edited_body = body"))


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE drafts RENAME COLUMN edited_body TO final_body"))
    op.execute(sa.text(f"UPDATE drafts SET final_body = COALESCE(final_body, body) WHERE status IN {_APPROVED}"))
