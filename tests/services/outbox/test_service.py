"""Each queued row gets its lane and priority: people and callbacks first, edits next, channel posts last."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col, select

from bot import notifier
from services.clock import SystemClock
from services.db import make_engine, session_scope
from services.outbox.models import OutboxMessage, SlackMessage
from services.outbox.service import enqueue_callback, enqueue_slack
from tests.services.outbox.helpers import make_agent


def test_rows_get_the_lane_and_priority_of_their_target(sqlite_url: str, receiver) -> None:
    """DMs, pages and callbacks go first; an update without a channel finds its message's lane wherever it is."""
    engine = make_engine(sqlite_url)
    agent_id = make_agent(engine, receiver.url)
    now = SystemClock().now()
    with session_scope(engine) as session:
        session.add(SlackMessage(key="posted:1", channel="C0OLD", ts="1.000100", created_at=now))
    with session_scope(engine) as session:
        rows = {
            "dm": enqueue_slack(session=session, method="chat.postMessage", now=now,
                                args={"channel": "U0OWNER", "text": "x"}),
            "card": enqueue_slack(session=session, method="chat.postMessage", now=now, message_key="card:1",
                                  args={"channel": "C0REVIEW", "text": "x"}),
            "edit_same_txn": enqueue_slack(session=session, method="chat.update", now=now, message_key="card:1",
                                           args={"text": "y"}),
            "edit_posted": enqueue_slack(session=session, method="chat.update", now=now, message_key="posted:1",
                                         args={"text": "y"}),
            "edit_hinted": enqueue_slack(session=session, method="chat.update", now=now, message_key="gone:1",
                                         args={"text": "y"}, channel="C0HINT"),
            "callback": enqueue_callback(session=session, agent_id=agent_id, url=receiver.url, event="draft.decided",
                                         data={}, now=now),
        }
        notifier.post(session, channel="C0REVIEW", msg={"text": "incident"}, now=now, urgent=True)
        page = session.new
        got = {name: (row.lane, row.priority) for name, row in rows.items()}
        [urgent] = [row for row in page if getattr(row, "payload", {}).get("text") == "incident"]
    assert got == {"dm": ("slack:U0OWNER", 0), "card": ("slack:C0REVIEW", 2), "edit_same_txn": ("slack:C0REVIEW", 1),
                   "edit_posted": ("slack:C0OLD", 1), "edit_hinted": ("slack:C0HINT", 1),
                   "callback": (f"callback:{agent_id}", 0)}
    assert (urgent.lane, urgent.priority) == ("slack:C0REVIEW", 0)


def test_an_update_queued_before_its_post_is_sent_finds_the_posts_lane(sqlite_url: str) -> None:
    """The post was queued by an earlier transaction and not yet sent: the update still joins its lane."""
    engine = make_engine(sqlite_url)
    now = SystemClock().now()
    with session_scope(engine) as session:
        enqueue_slack(session=session, method="chat.postMessage", now=now, message_key="card:9",
                      args={"channel": "C0LATER", "text": "x"})
    with session_scope(engine) as session:
        edit = enqueue_slack(session=session, method="chat.update", now=now, message_key="card:9", args={"text": "y"})
        assert edit.lane == "slack:C0LATER"


@pytest.mark.postgres_too
def test_a_waiting_edit_takes_the_newer_drawing_unless_a_sender_holds_it(db_url: str) -> None:
    """Edits of one message fold into the one still waiting (within a transaction and across them); an edit a
    sender has claimed is never changed under it, so the next one is queued after it."""
    engine = make_engine(db_url)
    now = SystemClock().now()
    edit = {"method": "chat.update", "now": now, "message_key": "card:7"}
    with session_scope(engine) as session:
        enqueue_slack(session=session, method="chat.postMessage", now=now, message_key="card:7",
                      args={"channel": "C0CARD", "text": "v0"})
        enqueue_slack(session=session, args={"text": "v1"}, **edit)
        enqueue_slack(session=session, args={"text": "v2"}, **edit)
    with session_scope(engine) as session:
        enqueue_slack(session=session, args={"text": "v3"}, **edit)
    assert _edits(engine) == [("v3", None)]
    with session_scope(engine) as session:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.method) == "chat.update")
                        .values(claim_token="held", claimed_by="s1", claimed_until=now))
    with session_scope(engine) as session:
        enqueue_slack(session=session, args={"text": "v4"}, **edit)
    with session_scope(engine) as session:
        enqueue_slack(session=session, args={"text": "v5"}, **edit)
    assert _edits(engine) == [("v3", "held"), ("v5", None)]


def _edits(engine: Engine) -> list[tuple[str, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.method == "chat.update")
                            .order_by(col(OutboxMessage.id))).all()
        return [(row.payload["text"], row.claim_token) for row in rows]
