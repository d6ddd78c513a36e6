"""The edited_body migration: a parked edit keeps its text under the new name; an approval's copy of the body,
which was no edit, is dropped; the text under review and the approved text read the same."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from services import migrations
from services.db import make_engine
from services.drafts.models import Draft
from tests.services.migrations.steps import migrated

OLD_DRAFT = ("INSERT INTO drafts (id, agent_id, action, title, body, body_is_json, context, status, final_body, "
             "edited_by, decided_by, created_at, expires_at, reminded, metadata, approvals_required, approvals, "
             "revision, high_risk, review_reasons) VALUES (:id, 1, 'quote', 't', :body, false, '{}', :status, "
             ":final, :edited_by, '[]', '2026-01-01 00:00:00', '2026-01-02 00:00:00', false, '{}', 2, 1, :revision, "
             "false, '[]')")
ROWS = [  # id, status, body, the old final_body column, edited_by, revision
    ("drf_parked", "pending", "EUR 1,840", "EUR 1,790", "U1", 1),  # an edit waiting for the second approver
    ("drf_edited", "edited", "EUR 1,840", "EUR 1,900", "U1", 1),
    ("drf_as_is", "approved", "EUR 1,840", "EUR 1,840", None, 0),  # approved as drafted: the body again
    ("drf_rejected", "rejected", "EUR 1,840", None, None, 0),
]


def test_a_parked_edit_survives_the_rename_and_the_approved_text_reads_the_same(empty_db: str) -> None:
    engine = make_engine(empty_db)
    with migrated(engine, up="0002_drafts") as connection:  # the drafts table as the previous version wrote it
        for draft_id, status, body, final, edited_by, revision in ROWS:
            connection.execute(text(OLD_DRAFT), {"id": draft_id, "status": status, "body": body, "final": final,
                                                 "edited_by": edited_by, "revision": revision})
    migrations.upgrade(engine)
    with engine.connect() as connection:
        after = connection.execute(text("SELECT id, edited_body FROM drafts ORDER BY id")).all()
    assert dict(after) == {"drf_as_is": None, "drf_edited": "EUR 1,900", "drf_parked": "EUR 1,790",
                           "drf_rejected": None}
    with Session(engine) as session:
        text_of = {row.id: row.current_text for row in (session.get(Draft, d[0]) for d in ROWS) if row}
    assert text_of == {"drf_parked": "EUR 1,790", "drf_edited": "EUR 1,900", "drf_as_is": "EUR 1,840",
                       "drf_rejected": "EUR 1,840"}

    # And back: the old column, holding the approved text again.
    with migrated(engine, down="0300_draft_edited_body-1") as connection:
        before = connection.execute(text("SELECT id, final_body FROM drafts ORDER BY id")).all()
    assert dict(before) == {"drf_as_is": "EUR 1,840", "drf_edited": "EUR 1,900", "drf_parked": "EUR 1,790",
                            "drf_rejected": None}
    engine.dispose()
