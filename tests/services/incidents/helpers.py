"""Shared pieces for incident and run tests: a harness on a FakeClock with the scheduler off, and readers of
what the fake Slack holds (cards, thread lines)."""

from __future__ import annotations

import time
from typing import Any

from testkit.fakes.slack import FakeSlack
from tests.harness import Harness

CHAIN = [{"notify": "owner"}, {"wait_s": 60}, {"notify": "backups"}, {"wait_s": 60}, {"notify": "channel"}]


def report(h: Harness, key: str, **fields: Any) -> dict[str, Any]:
    body = {"kind": "error", "severity": "high", "summary": "quotes came back negative", **fields}
    response = h.client.post("/v1/incidents", json=body, headers=h.bearer(key))
    assert response.status_code in (200, 201), response.text
    return response.json()


def tick(h: Harness) -> None:
    """One pass of every job, then wait until what it queued has reached the fake Slack."""
    h.run_jobs()
    h.drain()


def channel_of(slack: FakeSlack, who: str) -> str:
    return slack.dm_channel_for(who) if who.startswith(("U", "W")) else who


def cards_in(slack: FakeSlack, who: str) -> list[dict[str, Any]]:
    """Top-level incident cards in a user's DM or a channel (thread replies left out)."""
    return [m for m in slack.messages_in(channel_of(slack, who))
            if not m.get("thread_ts") and (m.get("blocks") or [{}])[0].get("type") == "header"
            and "Incident #" in str(m["blocks"][0])]


def card_for(slack: FakeSlack, who: str) -> dict[str, Any]:
    cards = cards_in(slack, who)
    assert cards, slack.summary()
    return cards[-1]


def thread_of(slack: FakeSlack, card: dict[str, Any]) -> list[str]:
    """Texts of the replies in a card's thread, oldest first."""
    return [m["text"] for m in slack.messages_in(card["channel"]) if m.get("thread_ts") == card["ts"]]


def incident(h: Harness, key: str, incident_id: int) -> dict[str, Any]:
    response = h.client.get(f"/v1/incidents/{incident_id}", headers=h.bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def wait_status(h: Harness, key: str, incident_id: int, status: str, timeout: float = 10) -> dict[str, Any]:
    """A click is acked before its work is done: wait for the incident to reach `status`."""
    deadline = time.monotonic() + timeout
    while True:
        shown = incident(h, key, incident_id)
        if shown["status"] == status or time.monotonic() > deadline:
            assert shown["status"] == status, shown
            return shown
        time.sleep(0.02)
