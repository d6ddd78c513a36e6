"""Hostile requests to /slack/events: forged or stale signatures, replays, clicks from another channel or
workspace, buttons naming a draft that does not exist or was decided. Each is refused (401) or answered with a
polite ephemeral, and nothing changes: the draft stays as it was, no extra callback, no extra card update."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot import ids
from testkit.clicks import click_request
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import ALICE, REVIEW_CHANNEL, SIGNING_SECRET, Harness, find_element

DRAFT = {"action": "send_reply", "title": "Reply to ticket 42", "body": "Hello, your refund is on its way."}


def ask(h: Harness) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An agent, a pending draft, and its card as posted in the review channel."""
    agent = h.register()
    draft = h.client.post("/v1/drafts", json=DRAFT, headers=h.bearer(agent["api_key"]))
    assert draft.status_code == 201, draft.text
    assert h.slack is not None
    h.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == REVIEW_CHANNEL
                     and not c.failed)
    h.drain()
    [card] = [m for m in h.slack.messages_in(REVIEW_CHANNEL) if not m.get("thread_ts")]
    return agent, draft.json(), card


def status(h: Harness, agent: dict[str, Any], draft_id: str) -> str:
    return h.client.get(f"/v1/drafts/{draft_id}", headers=h.bearer(agent["api_key"])).json()["status"]


def updates(slack: FakeSlack) -> int:
    return len(slack.calls_to("chat.update", ok_only=True))


def polite(slack: FakeSlack, name: str) -> str:
    [answer] = slack.wait_for_response(name, timeout=5)
    assert answer.get("response_type") == "ephemeral", answer
    return str(answer.get("text"))


def signed_click(slack: FakeSlack, card: dict[str, Any], name: str) -> tuple[str, dict[str, str]]:
    """Alice's approve click on `card`, exactly as Slack signs it now: (body, headers)."""
    request = click_request(card, find_element(card["blocks"], ids.DRAFT_APPROVE), user=ALICE,
                            response_url=slack.response_url(name), secret=SIGNING_SECRET)
    return (request.content or b"").decode(), request.headers


def click(h: Harness, card: dict[str, Any], action: str, name: str, **kw: Any) -> Any:
    assert h.slack is not None
    return h.click(card, action, response_url=h.slack.response_url(name), **kw)


def test_forged_and_stale_clicks_change_nothing(harness: Harness, slack: FakeSlack) -> None:
    """A click signed with the wrong secret, or five minutes old, is a 401 and the draft stays pending."""
    agent, draft, card = ask(harness)
    body, _ = signed_click(slack, card, "forged")
    assert harness.slack_post(body, secret="not-the-secret").status_code == 401
    assert harness.slack_post(body, timestamp=int(time.time()) - 301).status_code == 401
    assert harness.slack_post(body, timestamp=int(time.time()) + 301).status_code == 401
    unsigned = harness.client.post("/slack/events", content=body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401
    harness.drain()  # a decision commits before Slack's answer; anything it would have sent is now sent
    assert status(harness, agent, draft["id"]) == "pending"
    assert "forged" not in slack.responses


def test_replayed_click_is_answered_politely_and_decides_once(harness: Harness, slack: FakeSlack,
                                                              receiver: FakeAgentReceiver) -> None:
    """The same signed payload sent twice (a replay inside the window) decides once, tells the second it's done."""
    agent, draft, card = ask(harness)
    body, headers = signed_click(slack, card, "replay")
    first = harness.client.post("/slack/events", content=body, headers=headers)
    assert first.status_code == 200
    receiver.wait_for(1, ok_only=True)
    harness.drain()
    before = updates(slack)
    second = harness.client.post("/slack/events", content=body, headers=headers)
    assert second.status_code == 200
    answers = slack.wait_for_response("replay", count=1, timeout=5)  # answered: whatever it did has committed
    harness.drain()
    assert status(harness, agent, draft["id"]) == "approved"
    assert len(receiver.deliveries) == 1 and updates(slack) == before
    assert all(a.get("response_type") == "ephemeral" for a in answers)


@pytest.mark.parametrize("where", ["another channel", "another workspace"])
def test_click_from_elsewhere_is_refused(harness: Harness, slack: FakeSlack, where: str) -> None:
    """A genuine approver's click that claims to come from another channel or workspace does not decide."""
    agent, draft, card = ask(harness)
    kw = {"channel": "C0OTHER99"} if where == "another channel" else {"team": "T0STRANGER"}
    response = click(harness, card, ids.DRAFT_APPROVE, "elsewhere", user=ALICE, **kw)
    assert response.status_code in (200, 401, 403)
    harness.drain()  # the click was answered, so whatever it decided has committed; its card update is flushed
    assert status(harness, agent, draft["id"]) == "pending"
    assert updates(slack) == 0


@pytest.mark.parametrize("value", ["drf_doesnotexist:0", "", ":", "x" * 2000, "../../etc:1", "' OR 1=1 --:0"])
def test_button_naming_no_draft_is_answered_politely(harness: Harness, slack: FakeSlack, value: str) -> None:
    """A button value that names no draft gets a polite ephemeral; the real draft is untouched."""
    agent, draft, card = ask(harness)
    response = click(harness, card, ids.DRAFT_APPROVE, "nodraft", user=ALICE, value=value)
    assert response.status_code == 200
    text = polite(slack, "nodraft")
    assert "went wrong" not in text.lower(), text
    assert status(harness, agent, draft["id"]) == "pending" and updates(slack) == 0


def test_decided_draft_and_strangers_are_answered_politely(harness: Harness, slack: FakeSlack,
                                                           receiver: FakeAgentReceiver) -> None:
    """Reject after approve, or a click by someone who is no approver: a polite no, and the decision stands."""
    agent, draft, card = ask(harness)
    stranger = click(harness, card, ids.DRAFT_APPROVE, "stranger", user="U0STRANGER")
    assert stranger.status_code == 200 and polite(slack, "stranger")
    assert status(harness, agent, draft["id"]) == "pending"
    assert click(harness, card, ids.DRAFT_APPROVE, "approve", user=ALICE).status_code == 200
    receiver.wait_for(1, ok_only=True)
    harness.drain()
    before = updates(slack)
    for action in (ids.DRAFT_REJECT, ids.DRAFT_APPROVE, ids.DRAFT_EDIT):
        assert click(harness, card, action, f"late-{action}", user="U079BOB").status_code == 200
        assert "went wrong" not in polite(slack, f"late-{action}").lower()
    harness.drain()
    assert status(harness, agent, draft["id"]) == "approved"
    assert len(receiver.deliveries) == 1 and updates(slack) == before and slack.views == {}
