"""Autonomy Block Kit builders: the JSON carries the right buttons and values, the evidence, and stays within
Slack's limits when the text is long."""

from __future__ import annotations

import json

from bot import ids
from bot.blocks import autonomy as blocks
from bot.blocks.common import ELLIPSIS

EVIDENCE = {"decisions": 50, "approved_unedited": 48, "edited": 2, "rejected": 0, "expired": 0,
            "unedited_rate": 0.96, "mean_edit_distance": 0.031, "since_last_rejection": 50, "total_decisions": 61}
RULE = {"min_decisions": 50, "min_unedited_rate": 0.95, "clean_streak": 20, "audit_sample_rate": 0.1}


def _buttons(message: dict) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_proposal_card_shows_the_evidence_and_both_buttons() -> None:
    """The owner sees the figures, the rule, and Promote / Not yet carrying the state id."""
    card = blocks.proposal_card(agent_name="quoter", action="quote_freight_lane", prompt_version="v3",
                                evidence=EVIDENCE, rule=RULE, state_id=42)
    text = json.dumps(card, ensure_ascii=False)
    assert "*48* approved unedited (96.0%)" in text and "mean change 3.1%" in text and "v3" in text
    assert "at least 50 decisions" in text and "10.0% of auto-approvals" in text
    assert _buttons(card) == {ids.AUTONOMY_PROMOTE: "42", ids.AUTONOMY_NOT_YET: "42"}


def test_answered_card_has_no_buttons_and_says_who() -> None:
    """Once answered the card loses its buttons and names the owner and the outcome."""
    promoted = blocks.proposal_answered(agent_name="quoter", action="q", prompt_version="", promoted=True,
                                        by="U012OWNER")
    text = json.dumps(promoted)
    assert _buttons(promoted) == {} and "<@U012OWNER> promoted" in text and "(none)" in text
    later = blocks.proposal_answered(agent_name="quoter", action="q", prompt_version="v1", promoted=False,
                                     by="U012OWNER", repropose_in=20)
    assert "Not yet" in json.dumps(later) and "after 20 more decisions" in json.dumps(later)


def test_sample_card_truncates_long_text_visibly_and_escapes() -> None:
    """A 10 000-character draft is cut with a visible marker; mrkdwn in the title can't ping anyone."""
    card = blocks.sample_card(agent_name="quoter", draft_id="drf_1", action="q", title="<!channel> hi",
                              text="x" * 10_000, prompt_version="v1")
    assert _buttons(card) == {ids.AUTONOMY_LOOKS_RIGHT: "drf_1", ids.AUTONOMY_SHOULD_NOT_PASS: "drf_1"}
    assert all(len(b["text"]["text"]) <= 3000 for b in card["blocks"] if b["type"] == "section")
    assert ELLIPSIS in json.dumps(card, ensure_ascii=False) and "<!channel>" not in json.dumps(card)
    judged = blocks.sample_card(agent_name="quoter", draft_id="drf_1", action="q", title="t", text="ok",
                                prompt_version=None, verdict="should_not_have_passed", by="U079BOB")
    assert _buttons(judged) == {} and "Should not have passed* — <@U079BOB>" in json.dumps(judged, ensure_ascii=False)


def test_overview_lists_each_version_and_caps_blocks() -> None:
    """Each (action, version) gets its level and evidence; 200 rows still fit in 50 blocks, saying so."""
    rows = [{"action": "quote", "prompt_version": "v1", "level": "auto", "configured": "review",
             "granted_by": "U012OWNER", "evidence": EVIDENCE},
            {"action": "quote", "prompt_version": "v2", "level": "review", "configured": "review",
             "evidence": EVIDENCE, "rule_met": True, "proposal": "proposed"},
            {"action": "wire", "prompt_version": None, "level": "deny", "configured": "deny"}]
    view = blocks.overview({"agent": "quoter", "owner": "U012OWNER", "rule": RULE, "actions": rows})
    text = json.dumps(view, ensure_ascii=False)
    assert "*quote* · version *v1*: *auto*" in text and "granted by <@U012OWNER>" in text
    assert "version *v2*: *review*" in text and "proposal with the owner" in text and ":no_entry:" in text
    many = blocks.overview({"agent": "quoter", "owner": "U1", "rule": RULE, "actions": rows * 70})
    assert len(many["blocks"]) == 50 and "more blocks left out" in json.dumps(many)


def test_demotion_notice_keeps_mentions_but_not_channel_pings() -> None:
    """Our reason's <@user> still renders; an incident summary quoting <!channel> is escaped."""
    notice = blocks.demoted_notice(agent_name="quoter", action="q", prompt_version="v1",
                                   reason="<@U079BOB> said so; incident: <!channel> <https://x|y>")
    text = json.dumps(notice)
    assert "<@U079BOB>" in text and "<!channel>" not in text and "&lt;!channel&gt;" in text
