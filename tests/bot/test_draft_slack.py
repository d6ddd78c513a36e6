"""Slack-side details of drafts: /countersign pending, long drafts in the edit modal, JSON edits, the click answer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import event
from sqlmodel import select

from bot import ids
from services.outbox.models import OutboxMessage, SlackMessage
from tests.harness import ALICE, BOB, CAROL, Harness
from tests.services.drafts.helpers import card, ephemeral_texts, get, new_draft, wait_ephemeral


def test_pending_lists_what_the_caller_may_decide_oldest_first_with_links(harness: Harness) -> None:
    """Alice sees both agents' drafts (one through a user group), oldest first, linked to the cards; Carol sees
    only the group agent's; `help` lists the command."""
    harness.slack.usergroups = {"S090LEADS": [ALICE, CAROL]}
    quoter = harness.register()["api_key"]
    grouped = harness.register("planner", approvers=[BOB], approver_groups=["S090LEADS"])["api_key"]
    first = new_draft(harness, quoter, title="First quote")
    second = new_draft(harness, grouped, title="Second plan")
    card(harness, first["id"]), card(harness, second["id"])
    harness.drain()
    harness.command("pending", user_id=ALICE, response_url=harness.slack.response_url("alice"))
    text = str(harness.slack.wait_for_response("alice")[0]["blocks"])
    assert text.index("First quote") < text.index("Second plan")
    assert "https://slack.com/archives/C056REVIEW/p" in text
    harness.command("pending", user_id=CAROL, response_url=harness.slack.response_url("carol"))
    carol = str(harness.slack.wait_for_response("carol")[0]["blocks"])
    assert "Second plan" in carol and "First quote" not in carol
    assert "/countersign pending" in str(harness.command("help").json()["blocks"])


def test_long_draft_is_split_over_edit_boxes_and_joined_back(harness: Harness) -> None:
    """A 7,000-character draft opens as three boxes of at most 3,000; the submission is joined exactly."""
    key = harness.register()["api_key"]
    body = "".join(chr(65 + i % 26) for i in range(7000))
    draft = new_draft(harness, key, body=body)
    harness.click(card(harness, draft["id"]), ids.DRAFT_EDIT, user=ALICE)
    view = harness.slack.wait_for("views.open")[0].response["view"]
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [len(b["element"]["initial_value"]) for b in inputs] == [3000, 3000, 1000]
    assert all(b["element"]["max_length"] == 3000 and b["element"]["multiline"] for b in inputs)
    values = {b["block_id"]: {ids.DRAFT_EDIT_INPUT: {"type": "plain_text_input",
                                                     "value": b["element"]["initial_value"]}} for b in inputs}
    values[inputs[-1]["block_id"]][ids.DRAFT_EDIT_INPUT]["value"] += " Thanks."
    harness.submit_view(view, values, user=ALICE)
    done = get(harness, key, draft["id"], wait=5).json()
    assert done["status"] == "edited" and done["final_body"] == body + " Thanks."


def test_too_long_to_edit_is_said_plainly(harness: Harness) -> None:
    """Beyond what a modal can hold, Edit answers with an ephemeral instead of a broken modal."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, body="z" * 70_000)
    harness.click(card(harness, draft["id"]), ids.DRAFT_EDIT, user=ALICE)
    assert "too long to edit in Slack" in wait_ephemeral(harness, "too long")
    assert harness.slack.calls_to("views.open") == []


def test_json_draft_edit_must_stay_json(harness: Harness) -> None:
    """Editing a JSON draft into invalid JSON is refused inside the modal; valid JSON is accepted as JSON."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key, body={"price": 1840})
    harness.click(card(harness, draft["id"]), ids.DRAFT_EDIT, user=ALICE)
    view = harness.slack.wait_for("views.open")[0].response["view"]
    block = f"{ids.DRAFT_EDIT_BLOCK}_0"
    bad = harness.submit_view(view, {block: {ids.DRAFT_EDIT_INPUT: {"value": "{price: oops"}}}, user=ALICE)
    assert bad.json()["response_action"] == "errors" and "valid JSON" in bad.json()["errors"][block]
    harness.submit_view(view, {block: {ids.DRAFT_EDIT_INPUT: {"value": '{"price": 1790}'}}}, user=ALICE)
    assert get(harness, key, draft["id"], wait=5).json()["final_body"] == {"price": 1790}


def test_a_click_is_answered_with_its_decision_already_recorded(harness: Harness) -> None:
    """The HTTP answer to a click means the decision is committed: an agent polling right after sees it. (How fast
    that answer comes is measured by `python -m bench.run`, the click ack figures, not asserted here.)"""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    assert harness.click(card(harness, draft["id"]), ids.DRAFT_APPROVE, user=ALICE).status_code == 200
    assert get(harness, key, draft["id"]).json()["status"] == "approved"


def test_a_click_that_beats_the_record_of_its_card_waits_for_it(harness: Harness) -> None:
    """Slack shows a card as soon as it is posted; the outbox records where it landed a moment later. A click in
    that moment (here: the record appears once the click is seen waiting for it) decides, instead of being refused
    as a button from another message."""
    key = harness.register()["api_key"]
    draft = new_draft(harness, key)
    posted = card(harness, draft["id"])
    harness.drain()
    key_of_card = f"draft:{draft['id']}"
    with harness.ctx.uow() as session:  # back to the moment Slack has answered and the settle has not run
        row = session.get(SlackMessage, key_of_card)
        assert row is not None
        saved = SlackMessage(key=row.key, channel=row.channel, ts=row.ts, created_at=row.created_at)
        session.delete(row)
        post = session.exec(select(OutboxMessage).where(OutboxMessage.message_key == key_of_card)).one()
        post.status, post.claim_token, post.claimed_until = "pending", "settling", datetime(2100, 1, 1, tzinfo=UTC)

    # The signal that the click is waiting for the record: it has looked for the card's record twice (its first
    # look, then one more while it waits), which only a click that found the post still pending does.
    looks, waiting = [], threading.Event()

    def looked(_conn, _cursor, statement: str, params, _context, _many) -> None:  # noqa: ANN001
        values = params.values() if isinstance(params, dict) else params or ()
        if "FROM slack_messages" in statement and key_of_card in values:
            looks.append(statement)
            if len(looks) >= 2:
                waiting.set()

    event.listen(harness.ctx.engine, "before_cursor_execute", looked)

    def record_late() -> None:
        assert waiting.wait(10), "the click never waited for its card's record"
        with harness.ctx.uow() as session:
            session.add(saved)
            session.exec(select(OutboxMessage).where(OutboxMessage.message_key == key_of_card)).one().status = "sent"

    late = threading.Thread(target=record_late)
    late.start()
    assert harness.click(posted, ids.DRAFT_APPROVE, user=ALICE).status_code == 200
    late.join()
    event.remove(harness.ctx.engine, "before_cursor_execute", looked)
    assert get(harness, key, draft["id"]).json()["status"] == "approved"
    assert not any("not on the draft's card" in t for t in ephemeral_texts(harness))
