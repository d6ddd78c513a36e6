"""The draft card and modals as JSON: what a reviewer sees, and Slack's limits kept with huge or hostile text."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from bot import ids
from bot.blocks.drafts import draft_card, edit_modal, owner_reminder, pending_list, reject_modal
from services.drafts.models import DraftCard
from tests.hostile.slack_limits import assert_within_slack_limits

WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def _draft(**fields: Any) -> DraftCard:
    base: dict[str, Any] = {
        "id": "drf_1", "object": "draft", "agent": "quoter", "action": "quote_freight_lane", "title": "Quote RTM-LYS",
        "body": "EUR 1,840", "context": {}, "requested_by": None, "status": "pending", "final_body": None,
        "decided_by": [], "reason": None, "decided_at": None, "created_at": WHEN, "expires_at": WHEN,
        "cost_usd": None, "model": None, "prompt_version": None, "confidence": None, "metadata": {},
        "approvals_required": 1, "approved_by": [], "edited_by": None, "revision": 0, "high_risk": False,
        "review_reasons": [], "current_text": "EUR 1,840", "body_is_json": False}
    return DraftCard(**{**base, **fields})


def _text(surface: Any) -> str:
    return json.dumps(surface, ensure_ascii=False)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_pending_card_has_three_buttons_carrying_id_and_revision() -> None:
    """Approve, Edit, Reject in that order, each valued "<id>:<revision>"; no confirm unless high risk."""
    card = draft_card(_draft(revision=3, cost_usd=0.0123, model="gpt-4o", prompt_version="v7", confidence=0.82,
                             requested_by="U012OWNER", context={"trace_url": "https://trace.example/1", "lane": "RTM"}))
    buttons = _buttons(card)
    assert [b["action_id"] for b in buttons] == [ids.DRAFT_APPROVE, ids.DRAFT_EDIT, ids.DRAFT_REJECT]
    assert {b["value"] for b in buttons} == {"drf_1:3"} and "confirm" not in buttons[0]
    text = _text(card)
    for fact in ("$0.0123", "gpt-4o", "v7", "82%", "<@U012OWNER>", "<https://trace.example/1|trace_url>",
                 "0 of 1 approvals", "<!date^"):
        assert fact in text, fact
    assert_within_slack_limits(card)


def test_high_risk_approve_asks_for_confirmation() -> None:
    """A high-risk action's Approve button carries Slack's confirm dialog."""
    confirm = _buttons(draft_card(_draft(high_risk=True)))[0]["confirm"]
    assert confirm["confirm"]["text"] == "Approve" and "Quote RTM-LYS" in confirm["text"]["text"]


def test_decided_cards_say_outcome_who_when_why_and_drop_buttons() -> None:
    """Each final status reads plainly, names the deciders, and has no buttons left."""
    cases = {"approved": "Approved", "edited": "Approved with edits", "rejected": "Rejected", "expired": "Expired",
             "cancelled": "Cancelled", "auto_approved": "Auto-approved"}
    for status, words in cases.items():
        card = draft_card(_draft(status=status, decided_by=["U078ALICE", "U079BOB"], decided_at=WHEN,
                                 reason="denied: timed out, do not retry" if status == "expired" else None))
        text = _text(card)
        assert words in text and _buttons(card) == [] and "<@U078ALICE>, <@U079BOB>" in text
    assert "do not retry" in _text(draft_card(_draft(status="expired", reason="denied: timed out, do not retry")))


def test_quorum_progress_shows_count_and_names() -> None:
    """Under quorum the card says how many of how many, and who."""
    text = _text(draft_card(_draft(approvals_required=2, approved_by=["U078ALICE"])))
    assert "1 of 2 approvals" in text and "<@U078ALICE>" in text


def test_huge_and_hostile_text_stays_within_limits_and_says_so() -> None:
    """A 256 KB body of characters that grow when escaped, a huge title, many context keys and reasons: every
    limit holds, the cut is announced, and no half entity or forged mention gets through."""
    card = draft_card(_draft(title="T" * 5000, current_text="<&>" * 90_000, agent="a" * 300,
                             context={f"k{i}": "v" * 5000 for i in range(40)}, review_reasons=["r" * 4000] * 20,
                             requested_by="<!channel>", model="m" * 900))
    assert_within_slack_limits(card)
    text = _text(card)
    assert "270,000-character draft" in text and "…and 33 more" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    body = next(b for b in card["blocks"] if b.get("text", {}).get("text", "").startswith("*Draft*"))
    assert body["text"]["text"].endswith(";```")  # whole entities up to the fence, never "&am"


def test_edit_modal_prefills_and_keeps_limits() -> None:
    """The modal is prefilled with the text, multiline, 3,000 per box, with where to send the decision."""
    view = edit_modal(_draft(revision=2, body_is_json=True), channel="C056REVIEW", ts="1.2")
    assert view is not None
    box = view["blocks"][-1]["element"]
    assert box == {"type": "plain_text_input", "action_id": ids.DRAFT_EDIT_INPUT, "multiline": True,
                   "max_length": 3000, "initial_value": "EUR 1,840"}
    assert json.loads(view["private_metadata"]) == {"d": "drf_1", "r": 2, "c": "C056REVIEW", "t": "1.2", "j": True}
    assert "valid JSON" in _text(view)
    assert_within_slack_limits(view)
    assert edit_modal(_draft(current_text="x" * 60_001), channel=None, ts=None) is None
    big = edit_modal(_draft(current_text="x" * 60_000), channel=None, ts=None)
    assert big is not None and len([b for b in big["blocks"] if b["type"] == "input"]) == 20
    assert_within_slack_limits(big)


def test_reject_modal_requires_a_reason() -> None:
    """The reason box is a required input (Slack refuses an empty submit)."""
    view = reject_modal(_draft(), channel="C1", ts="1.1")
    reason = next(b for b in view["blocks"] if b["type"] == "input")
    assert reason["block_id"] == ids.DRAFT_REASON_BLOCK and not reason.get("optional")
    assert_within_slack_limits(view)


def test_pending_list_links_cards_and_caps_length() -> None:
    """Links to cards when known; a hundred drafts still make one valid message that says how many were left out."""
    linked = _draft(link="https://slack.com/archives/C056REVIEW/p1700000000000100")
    assert "<https://slack.com/archives/C056REVIEW/p1700000000000100|Quote RTM-LYS>" in _text(pending_list([linked]))
    many = pending_list([_draft(title="t" * 500, link="https://x.example/" + "p" * 2000)] * 100)
    assert_within_slack_limits(many)
    assert "…and 60 more" in _text(many)
    assert "No pending drafts" in _text(pending_list([]))


def test_owner_reminder_links_the_card() -> None:
    """The owner's DM names the agent and links the card."""
    text = _text(owner_reminder(_draft(link="https://slack.com/archives/C1/p1")))
    assert "*quoter*" in text and "<https://slack.com/archives/C1/p1|" in text and "counts as denied" in text


def test_a_renamed_key_fails_instead_of_drawing_a_default() -> None:
    """The card's model is the API's: a missing or misnamed key is refused where the card is built."""
    fields = _draft().model_dump()
    fields["approvers_required"] = fields.pop("approvals_required")
    with pytest.raises(ValidationError) as refused:
        DraftCard(**fields)
    assert {e["loc"][0] for e in refused.value.errors()} == {"approvals_required", "approvers_required"}
