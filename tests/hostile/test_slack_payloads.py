"""Signed but malformed Slack payloads are a 400 and a log line, never a 500; forged and
incomplete modals are refused; the same length limits hold on every path; invisible titles are refused."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import pytest

from bot import ids
from bot.blocks import drafts as blocks
from services.errors import ValidationFailed
from tests.harness import ALICE, BOB, CAROL, REVIEW_CHANNEL, Harness
from tests.hostile.test_slack_hostile import ask, click, status

CLICK = {"type": "block_actions", "team": {"id": "T0TEAM"}, "trigger_id": "1.2.3", "response_url": "https://x/y",
         "container": {"type": "message", "channel_id": "C1", "message_ts": "1.2"},
         "actions": [{"action_id": ids.INCIDENT_ACK, "value": "1", "type": "button"}]}


@pytest.mark.parametrize("body", [
    "payload={not json",
    "payload=[]",
    "payload=" + quote(json.dumps([{"type": "block_actions"}])),
    "payload=" + quote(json.dumps(CLICK)),  # no user
    "payload=" + quote(json.dumps({**CLICK, "user": {"id": "U1<!channel>"}})),
    "payload=" + quote(json.dumps({**CLICK, "user": {"id": "U0AAA1111"}, "actions": "approve"})),
    "payload=" + quote(json.dumps({**CLICK, "user": {"id": "U0AAA1111"}, "actions": [{"value": "1"}]})),
    "payload=" + quote(json.dumps({**CLICK, "user": "U0AAA1111"})),
    "payload=" + quote(json.dumps({"type": "view_submission", "user": {"id": "U0AAA1111"}, "view": "x"})),
    "payload=" + quote(json.dumps({"type": "view_submission", "user": {"id": "U0AAA1111"},
                                   "view": {"callback_id": ids.DRAFT_EDIT_VIEW, "state": {"values": []}}})),
    "command=%2Fcountersign&text=help&channel_id=C1",  # a slash command without user_id
    "command=%2Fcountersign&text=help&user_id=U0AAA1111",  # … without channel_id
])
def test_signed_malformed_payloads_are_400_with_a_log_line(harness: Harness, body: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Whoever holds the secret may send nonsense: it is refused with 400 and logged, never a 500."""
    with caplog.at_level(logging.WARNING, logger="countersign.slack"):
        response = harness.slack_post(body)
    assert response.status_code == 400, response.text
    assert any("malformed" in r.getMessage() for r in caplog.records)


def test_malformed_and_unsigned_is_still_401(harness: Harness) -> None:
    """The 400 is only for signed requests: a forged one learns nothing more than Bolt's 401."""
    assert harness.slack_post("payload={not json", secret="wrong").status_code == 401


def _view(kind: str, draft_id: str, card: dict[str, Any], **meta: Any) -> dict[str, Any]:
    callback = ids.DRAFT_REJECT_VIEW if kind == "reject" else ids.DRAFT_EDIT_VIEW
    block_id = ids.DRAFT_REASON_BLOCK if kind == "reject" else f"{ids.DRAFT_EDIT_BLOCK}_0"
    blocks_ = [{"type": "input", "block_id": block_id,
                "label": {"type": "plain_text", "text": "x"}, "element": {"type": "plain_text_input"}}]
    metadata = {"d": draft_id, "r": 0, "c": card["channel"], "t": card["ts"], "j": False, **meta}
    return {"type": "modal", "callback_id": callback, "private_metadata": json.dumps(metadata), "blocks": blocks_}


def _reason(text: str) -> dict[str, Any]:
    return {ids.DRAFT_REASON_BLOCK: {ids.DRAFT_REASON_INPUT: {"value": text}}}


def _edit(text: str) -> dict[str, Any]:
    return {f"{ids.DRAFT_EDIT_BLOCK}_0": {ids.DRAFT_EDIT_INPUT: {"value": text}}}


def test_a_strangers_forged_modal_on_a_decided_draft_learns_nothing(harness: Harness) -> None:
    """Carol (no approver) forges a Reject modal for a draft Alice approved: refused without saying by whom, and
    never into a channel of her choosing."""
    slack = harness.slack
    agent, draft, card = ask(harness)
    assert click(harness, card, ids.DRAFT_APPROVE, "approve", user=ALICE).status_code == 200
    harness.drain()
    assert status(harness, agent, draft["id"]) == "approved"
    elsewhere = harness.submit_view(_view("reject", draft["id"], card, c="C0CAROLS", t="9.9"), _reason("mine"),
                                    user=CAROL)
    assert "not on the draft's card" in json.dumps(elsewhere.json())
    harness.submit_view(_view("reject", draft["id"], card), _reason("mine"), user=CAROL)
    [answer] = slack.wait_for(lambda c: c.method == "chat.postEphemeral" and c.args.get("user") == CAROL)
    assert answer.args["channel"] == REVIEW_CHANNEL and "can't decide this draft" in answer.args["text"]
    assert ALICE not in answer.args["text"] and "approved" not in answer.args["text"]
    assert not [c for c in slack.calls_to("chat.postEphemeral") if c.args.get("channel") == "C0CAROLS"]
    assert status(harness, agent, draft["id"]) == "approved"


def test_an_edit_without_its_revision_is_refused(harness: Harness) -> None:
    """An approver's Edit modal whose metadata lost `r` would skip the edited-since check: refused in the modal."""
    agent, draft, card = ask(harness)
    view = _view("edit", draft["id"], card)
    meta = json.loads(view["private_metadata"])
    del meta["r"]
    answer = harness.submit_view({**view, "private_metadata": json.dumps(meta)}, _edit("new words"), user=BOB)
    assert "lost the revision" in json.dumps(answer.json())
    assert status(harness, agent, draft["id"]) == "pending"


def test_a_reject_reason_is_held_to_2000_characters_on_every_path(harness: Harness) -> None:
    """The modal allows 2,000 characters; a forged submission and a direct flow call are held to the same."""
    from services.drafts import flows

    agent, draft, card = ask(harness)
    answer = harness.submit_view(_view("reject", draft["id"], card), _reason("r" * 10_000), user=BOB).json()
    assert "2,000" in answer["errors"][ids.DRAFT_REASON_BLOCK]
    with pytest.raises(ValidationFailed, match="at most 2,000"):
        flows.decide(ctx=harness.ctx, draft_id=draft["id"], user_id=BOB, verdict="reject", reason="r" * 2001)
    assert status(harness, agent, draft["id"]) == "pending"
    card = flows.check_decider(ctx=harness.ctx, draft_id=draft["id"], user_id=BOB, verdict="reject")
    assert blocks.reject_modal(card, channel=None, ts=None)["blocks"][1]["element"]["max_length"] == flows.REASON_MAX


@pytest.mark.parametrize("title", ["\u200b", "\x00", "\u200b\u200d\u2060", " \ufeff ", "\u3164", "\u202e\u200f"])
def test_titles_of_only_invisible_characters_are_422(harness: Harness, title: str) -> None:
    """A card whose title shows nothing is refused with 422 naming the field, for drafts and incidents."""
    agent = harness.register()
    draft = harness.client.post("/v1/drafts", headers=harness.bearer(agent["api_key"]),
                                json={"action": "send_reply", "title": title, "body": "hello"})
    assert draft.status_code == 422 and [e["field"] for e in draft.json()["errors"]] == ["title"]
    incident = harness.client.post("/v1/incidents", headers=harness.bearer(agent["api_key"]),
                                   json={"kind": "error", "severity": "low", "summary": title})
    assert incident.status_code == 422 and [e["field"] for e in incident.json()["errors"]] == ["summary"]


@pytest.mark.parametrize("where", [{"channel": "C0OTHER99"}, {"team": "T0STRANGER"}])
def test_a_draft_click_from_elsewhere_is_audited(harness: Harness, where: dict[str, str]) -> None:
    """A click refused for its channel or workspace leaves a trace, like any refusal."""
    from sqlmodel import select

    from services.audit.models import AuditEntry

    agent, draft, card = ask(harness)
    click(harness, card, ids.DRAFT_APPROVE, "elsewhere", user=ALICE, **where)
    assert "can't decide" in harness.slack.wait_for_response("elsewhere")[0]["text"]
    with harness.ctx.read() as session:
        [row] = session.exec(select(AuditEntry).where(AuditEntry.verb == "slack.click_refused")).all()
    assert row.subject == f"draft:{draft['id']}" and row.actor_id == ALICE
    assert row.details.get("channel") == where.get("channel", card["channel"])
    assert row.details.get("team") == where.get("team", "T0TEAM")
    assert status(harness, agent, draft["id"]) == "pending"


INJECTED = "https://x.example/>*<!channel>*<https://evil.example/login|Click to resolve"


@pytest.mark.parametrize("url", [INJECTED, "https://x.example/a|b", "https://x.example/ a", "javascript:alert(1)",
                                 "https://x.example/<b>", "//x.example/", "https://x.example/\u2028"])
def test_a_trace_url_that_could_break_out_of_a_link_is_422(harness: Harness, url: str) -> None:
    """Issue 15, finding 5: the URL Countersign draws as a link is http(s) with no < > | or spaces, or refused."""
    key = harness.register()["api_key"]
    incident = harness.client.post("/v1/incidents", headers=harness.bearer(key), json={
        "kind": "error", "severity": "critical", "summary": "s", "trace_url": url})
    assert incident.status_code == 422 and [e["field"] for e in incident.json()["errors"]] == ["trace_url"]
    draft = harness.client.post("/v1/drafts", headers=harness.bearer(key), json={
        "action": "send_reply", "title": "t", "body": "b", "context": {"trace_url": url}})
    assert draft.status_code == 422 and "trace_url" in draft.text
    ok = harness.client.post("/v1/incidents", headers=harness.bearer(key), json={
        "kind": "error", "severity": "low", "summary": "s", "trace_url": "https://trace.example/t/1?a=b&c=%7C"})
    assert ok.status_code == 201, ok.text


def test_a_stored_trace_url_from_before_the_check_is_drawn_as_text() -> None:
    """A row stored before the API refused such URLs still can't put a live @channel on the owner's card."""
    from datetime import UTC, datetime

    from bot.blocks import incidents as incident_blocks
    from services.incidents.models import IncidentPublic
    from tests.hostile.mrkdwn import mrkdwn_injections

    now = datetime(2026, 1, 5, tzinfo=UTC)
    shown = IncidentPublic(id=1, agent="quoter", kind="error", severity="critical", summary="s", details={},
                           dedup_key=None, run_id=None, trace_url=INJECTED, status="triggered", occurrences=1,
                           last_occurred_at=now, acknowledged_by=None, acknowledged_at=None, resolved_by=None,
                           resolved_at=None, resolution_note=None, snoozed_until=None, next_step_at=None,
                           created_at=now, updated_at=now)
    card = incident_blocks.incident_card(shown, recipient="U012OWNER")
    assert mrkdwn_injections(card) == [] and "<!channel>" not in json.dumps(card)
