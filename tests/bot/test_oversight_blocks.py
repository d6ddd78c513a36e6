"""The oversight builders are pure and stay within Slack's limits: the change card's diff, its buttons only while
pending, an attached eval replay, and the digest section with the rubber-stamp flag."""

from __future__ import annotations

import json

from bot import ids
from bot.blocks.autonomy import overview
from bot.blocks.oversight import change_card, digest_section


def _card(**over: object) -> dict:  # type: ignore[type-arg]
    fields = {"agent_name": "quoter", "change_id": 7, "action": "quote", "kind": "prompt", "version": "v2",
              "base_version": "v1", "diff": "-old <b>\n+new @here\n", "status": "pending", "decided_by": None,
              "replay": None}
    fields.update(over)
    return change_card(**fields)  # type: ignore[arg-type]


def test_pending_card_shows_the_escaped_diff_and_both_buttons() -> None:
    text = json.dumps(_card())
    assert "-old &lt;b&gt;" in text and "+new @here" in text and "against approved version *v1*" in text
    assert ids.OVERSIGHT_APPROVE_VERSION in text and ids.OVERSIGHT_REJECT_VERSION in text


def test_long_diff_is_cut_visibly_and_an_answered_card_has_no_buttons() -> None:
    card = _card(diff="+x\n" * 5000, status="rejected", decided_by="U012OWNER")
    sections = [b["text"]["text"] for b in card["blocks"] if b["type"] == "section"]
    assert all(len(s) <= 3000 for s in sections) and any("(truncated)" in s for s in sections)
    assert ids.OVERSIGHT_APPROVE_VERSION not in json.dumps(card) and "<@U012OWNER>" in json.dumps(card)


def test_replay_figures_are_drawn_per_outcome() -> None:
    replay = {"drafts": 4, "model": "gpt-4o-mini", "agreement": 0.75, "failed": 0,
              "outcomes": {"approved": {"drafts": 2, "agreed": 2, "rate": 1.0},
                           "edited": {"drafts": 1, "agreed": 0, "rate": 0.0},
                           "rejected": {"drafts": 1, "agreed": 1, "rate": 1.0}}}
    text = json.dumps(_card(replay=replay))
    assert "75% overall" in text and "approved unedited 2/2 (100%)" in text and "edited 0/1 (0%)" in text


def test_digest_section_puts_rubber_stamps_first() -> None:
    row = {"agent": "quoter", "action": "quote", "decisions": 30, "approval_rate": 1.0, "canary_catches": 0,
           "canary_misses": 1, "time_to_decision": {"p50_s": 2.0}}
    blocks = digest_section([{**row, "reviewer": "U079BOB", "rubber_stamp": False, "decisions": 40},
                             {**row, "reviewer": "U078ALICE", "rubber_stamp": True}], days=7)
    text = blocks[0]["text"]["text"]
    assert text.index("U078ALICE") < text.index("U079BOB") and "rubber stamp?" in text and "1 missed" in text
    assert "no decisions" in digest_section([], days=7)[0]["text"]["text"]


def test_autonomy_overview_shows_the_approved_prompt_version_beside_the_level() -> None:
    rule = {"min_decisions": 50, "min_unedited_rate": 0.95, "clean_streak": 20, "audit_sample_rate": 0.1}
    row = {"action": "quote", "prompt_version": "v3", "level": "review", "configured": "review",
           "approved_prompt_version": "v2", "prompt_status": "pending"}
    text = json.dumps(overview({"agent": "quoter", "owner": "U012OWNER", "rule": rule, "actions": [row]}),
                      ensure_ascii=False)
    assert "*review* · approved prompt *v2* (this version pending)" in text
