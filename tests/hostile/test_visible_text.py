"""Bidirectional overrides, zero-width and tag characters in text people read show visibly (`⟨U+202E⟩`) on the
Slack card, the web page and the CLI, drawn by one function (services.text.visible); a title made only of them
is still refused."""

from __future__ import annotations

import json

from services.text import visible
from tests.harness import ALICE, REVIEW_CHANNEL, Harness
from tests.services.cli.run import cli
from tests.web.helpers import signed_in

RLO, PDF = "\u202e", "\u202c"
TITLE = f"Refund ${RLO}00001{PDF}"  # reads as "Refund $10000" where overrides are honoured
BODY = f"Pay\u200bto acct 1{chr(0xE0041)}2 \u2066x\u2069"
HIDDEN = [RLO, PDF, "\u200b", chr(0xE0041), "\u2066", "\u2069"]


def test_visible_draws_each_hidden_character_and_keeps_the_rest() -> None:
    assert visible(TITLE) == "Refund $⟨U+202E⟩00001⟨U+202C⟩"
    assert visible(BODY) == "Pay⟨U+200B⟩to acct 1⟨U+E0041⟩2 ⟨U+2066⟩x⟨U+2069⟩"
    family = "\U0001f468\u200d\U0001f469"  # an emoji sequence joined by ZWJ draws as one glyph: kept
    assert visible(f"Plain text, accents é, {family}") == f"Plain text, accents é, {family}"


def test_card_page_and_cli_show_them_visibly(harness: Harness) -> None:
    """The attack of the finding: an amount reversed by U+202E. Nowhere a reviewer reads it is it raw."""
    h = harness
    key = h.register()["api_key"]
    draft = h.client.post("/v1/drafts", json={"action": "refund", "title": TITLE, "body": BODY},
                          headers=h.bearer(key))
    assert draft.status_code == 201, draft.text
    assert draft.json()["title"] == TITLE  # stored and returned to the agent as sent
    h.drain()
    [card] = [m for m in h.slack.messages_in(REVIEW_CHANNEL) if "Refund" in json.dumps(m, ensure_ascii=False)]
    drawn = json.dumps(card, ensure_ascii=False)
    assert "⟨U+202E⟩00001⟨U+202C⟩" in drawn and "⟨U+E0041⟩" in drawn
    assert not any(ch in drawn for ch in HIDDEN)
    page = signed_in(h, ALICE).get(f"/app/drafts/{draft.json()['id']}").text
    assert "⟨U+202E⟩00001⟨U+202C⟩" in page and "⟨U+200B⟩" in page and not any(ch in page for ch in HIDDEN)
    listed = cli("drafts", "list", url=h.settings.database_url)
    assert "⟨U+202E⟩" in listed.output and not any(ch in listed.output for ch in HIDDEN), listed.output


def test_a_title_of_only_hidden_characters_is_still_refused(harness: Harness) -> None:
    key = harness.register()["api_key"]
    answer = harness.client.post("/v1/drafts", json={"action": "refund", "title": RLO + "\u200b" + PDF,
                                                     "body": "x"}, headers=harness.bearer(key))
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "title"
