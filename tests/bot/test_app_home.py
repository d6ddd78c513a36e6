"""The App Home: opening it publishes what waits for that person and links into the web app."""

from __future__ import annotations

import json
import time

from tests.harness import ALICE, OWNER, Harness

DRAFT = {"action": "send_reply", "title": "Reply to <!channel> ticket 42", "body": "Hello"}


def home_opened(h: Harness, user: str, tab: str = "home") -> None:
    body = json.dumps({
        "token": "t", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab,
                  "event_ts": f"{time.time():.6f}"},
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}]})
    assert h.slack_post(body, content_type="application/json").status_code == 200


def test_home_shows_pending_drafts_and_open_incidents_with_web_links(harness: Harness) -> None:
    """Alice (an approver) sees the pending draft; the owner sees the open incident; both get /app/ links."""
    key = harness.register()["api_key"]
    assert harness.client.post("/v1/drafts", json=DRAFT, headers=harness.bearer(key)).status_code == 201
    assert harness.client.post("/v1/incidents", headers=harness.bearer(key), json={
        "kind": "error", "severity": "low", "summary": "quotes came back negative"}).status_code == 201
    harness.drain()
    home_opened(harness, ALICE)
    harness.slack.wait_for(lambda c: c.method == "views.publish" and c.args.get("user_id") == ALICE)
    alice = json.dumps(harness.slack.homes[ALICE])
    assert "Reply to &lt;!channel&gt; ticket 42" in alice and "<!channel>" not in alice
    assert "http://127.0.0.1:8000/app/|open your inbox" in alice and "No open incidents" in alice
    home_opened(harness, OWNER)
    harness.slack.wait_for(lambda c: c.method == "views.publish" and c.args.get("user_id") == OWNER)
    owner = json.dumps(harness.slack.homes[OWNER])
    assert "quotes came back negative" in owner and "/app/incidents|see them all" in owner
    assert "Nothing is waiting for your decision" in owner  # the owner is no approver of their own agent


def test_the_messages_tab_publishes_nothing(harness: Harness) -> None:
    """Opening the Messages tab (where owners get DMs) is not a reason to redraw the Home tab."""
    home_opened(harness, ALICE, tab="messages")
    home_opened(harness, OWNER)
    harness.slack.wait_for("views.publish")
    assert [c.args["user_id"] for c in harness.slack.calls_to("views.publish")] == [OWNER]
