"""Approve, Edit and Reject end to end: API → card in the fake Slack → signed clicks → card, callback, polls."""

from __future__ import annotations

import threading

from bot import ids
from tests.harness import ALICE, BOB, Harness
from tests.services.drafts.helpers import card, get, has_buttons, new_draft, wait_card


def _callback(h: Harness, secret: str, draft_id: str) -> dict:
    assert h.receiver is not None
    delivery = h.receiver.wait_for(1, timeout=10)[0]
    assert delivery.event == "draft.decided" and delivery.verify(secret)
    assert delivery.json["data"]["id"] == draft_id
    return delivery.json["data"]


def test_approve_by_click_updates_card_calls_back_and_releases_long_poll(harness: Harness) -> None:
    """The core loop: a card with three buttons, a click from its own Approve button, every way back."""
    agent = harness.register()
    draft = new_draft(harness, agent["api_key"])
    assert draft["status"] == "pending" and draft["id"].startswith("drf_")
    posted = card(harness, draft["id"])
    buttons = [e["action_id"] for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [ids.DRAFT_APPROVE, ids.DRAFT_EDIT, ids.DRAFT_REJECT]

    waited: dict = {}
    poller = threading.Thread(target=lambda: waited.update(get(harness, agent["api_key"], draft["id"], wait=10).json()))
    poller.start()
    assert harness.click(posted, ids.DRAFT_APPROVE, user=ALICE).status_code == 200
    poller.join(10)
    assert waited["status"] == "approved" and waited["decided_by"] == [ALICE]

    updated = wait_card(harness, posted, lambda text: "Approved" in text)
    assert not has_buttons(updated) and ALICE in str(updated["blocks"])
    data = _callback(harness, agent["webhook_secret"], draft["id"])
    assert data["status"] == "approved" and data["final_body"] == "EUR 1,840 all in."
    polled = get(harness, agent["api_key"], draft["id"]).json()
    assert polled == data


def test_edit_through_modal_approves_the_edited_text(harness: Harness) -> None:
    """Edit opens a modal prefilled with the draft; submitting it decides `edited` with the reviewer's text."""
    agent = harness.register()
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_EDIT, user=BOB)
    opened = harness.slack.wait_for("views.open")[0]
    view = opened.response["view"]
    assert view["blocks"][-1]["element"]["initial_value"] == "EUR 1,840 all in."
    values = {f"{ids.DRAFT_EDIT_BLOCK}_0": {ids.DRAFT_EDIT_INPUT: {"type": "plain_text_input", "value": "EUR 1,790."}}}
    assert harness.submit_view(view, values, user=BOB).status_code == 200
    data = _callback(harness, agent["webhook_secret"], draft["id"])
    assert data["status"] == "edited" and data["final_body"] == "EUR 1,790." and data["decided_by"] == [BOB]
    wait_card(harness, posted, lambda text: "Approved with edits" in text and "EUR 1,790." in text)
    assert get(harness, agent["api_key"], draft["id"], wait=1).json()["status"] == "edited"


def test_reject_through_modal_needs_a_reason_and_tells_the_agent(harness: Harness) -> None:
    """Reject asks for a reason (an empty one is refused in the modal), then decides `rejected` with it."""
    agent = harness.register()
    draft = new_draft(harness, agent["api_key"])
    posted = card(harness, draft["id"])
    harness.click(posted, ids.DRAFT_REJECT, user=ALICE)
    view = harness.slack.wait_for("views.open")[0].response["view"]
    empty = {ids.DRAFT_REASON_BLOCK: {ids.DRAFT_REASON_INPUT: {"type": "plain_text_input", "value": "  "}}}
    refused = harness.submit_view(view, empty, user=ALICE)
    assert refused.json()["response_action"] == "errors" and ids.DRAFT_REASON_BLOCK in refused.json()["errors"]
    reason = {ids.DRAFT_REASON_BLOCK: {ids.DRAFT_REASON_INPUT: {"type": "plain_text_input", "value": "Too cheap"}}}
    assert harness.submit_view(view, reason, user=ALICE).status_code == 200
    data = _callback(harness, agent["webhook_secret"], draft["id"])
    assert data["status"] == "rejected" and data["reason"] == "Too cheap" and data["final_body"] is None
    wait_card(harness, posted, lambda text: "Rejected" in text and "Too cheap" in text)
    assert get(harness, agent["api_key"], draft["id"]).json()["reason"] == "Too cheap"
