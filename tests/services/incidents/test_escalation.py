"""Incidents through the HTTP API, the fake Slack over real HTTP and a FakeClock: paging, escalation, lifecycle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import ids
from services.clock import FakeClock
from tests.fakes.receiver import FakeAgentReceiver
from tests.fakes.slack import FakeSlack
from tests.harness import BACKUP, OWNER, REVIEW_CHANNEL, Harness

CHAIN = [{"notify": "owner"}, {"wait_s": 60}, {"notify": "backups"}, {"wait_s": 60}, {"notify": "channel"}]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def h(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as harness:
        yield harness


def report(h: Harness, key: str, **fields: object) -> dict:
    body = {"kind": "error", "severity": "high", "summary": "quotes came back negative", **fields}
    response = h.client.post("/v1/incidents", json=body, headers=h.bearer(key))
    assert response.status_code in (200, 201), response.text
    return response.json()


def card_for(slack: FakeSlack, user: str) -> dict:
    """The latest version of the incident card in a user's DM (or a channel)."""
    channel = slack.dm_channel_for(user) if user.startswith("U") else user
    cards = [m for m in slack.messages_in(channel) if not m.get("thread_ts") and "incident" in m["text"].lower()]
    assert cards, slack.summary()
    return cards[-1]


def test_reported_incident_dms_the_owner_with_a_card(h: Harness, slack: FakeSlack) -> None:
    """The owner hears first, by DM, with the card's facts and its four kinds of buttons."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key, details={"lane": "SEA-LAX"}, trace_url="https://trace.example.com/t/1")
    assert created["status"] == "triggered" and created["occurrences"] == 1
    h.drain()
    card = card_for(slack, OWNER)
    text = str(card["blocks"])
    assert "quotes came back negative" in text and "SEA-LAX" in text and "https://trace.example.com/t/1" in text
    for action in (ids.INCIDENT_ACK, ids.INCIDENT_RESOLVE, ids.INCIDENT_SNOOZE_PREFIX + "1800", ids.INCIDENT_PAUSE):
        assert action in text
    assert not slack.messages_in(slack.dm_channel_for(BACKUP))


def test_no_ack_reaches_the_backup_after_the_wait_and_ack_stops_it(h: Harness, slack: FakeSlack,
                                                                   clock: FakeClock) -> None:
    """Unacknowledged, the chain reaches the backup after its wait; an ack then stops the rest of the chain."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    incident = report(h, key)
    clock.advance(59)
    h.run_jobs()
    h.drain()
    assert not slack.messages_in(slack.dm_channel_for(BACKUP))
    clock.advance(1)
    h.run_jobs()
    h.drain()
    backup_card = card_for(slack, BACKUP)
    response = h.click(backup_card, ids.INCIDENT_ACK, user=BACKUP)
    assert response.status_code == 200
    h.drain()
    shown = h.client.get(f"/v1/incidents/{incident['id']}", headers=h.bearer(key)).json()
    assert shown["status"] == "acknowledged" and shown["acknowledged_by"] == BACKUP
    assert [s["note"] for s in shown["steps_taken"]] == ["owner", "backups"]
    clock.advance(3600 * 0.5)
    h.run_jobs()
    h.drain()
    assert not slack.messages_in(REVIEW_CHANNEL)
    assert "Acknowledged" in str(card_for(slack, OWNER)["blocks"])  # every card updated in place


def test_dedup_raises_occurrences_without_paging_again(h: Harness, slack: FakeSlack) -> None:
    """A second report with the same dedup_key is 200 on the open incident: counted, card redrawn, no new DM."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    first = report(h, key, dedup_key="lane-sea")
    again = h.client.post("/v1/incidents", headers=h.bearer(key), json={
        "kind": "error", "severity": "high", "summary": "again", "dedup_key": "lane-sea"})
    assert again.status_code == 200 and again.json()["id"] == first["id"] and again.json()["occurrences"] == 2
    h.drain()
    dm = slack.dm_channel_for(OWNER)
    assert len([m for m in slack.messages_in(dm) if not m.get("thread_ts")]) == 1
    assert "Occurrences: *2*" in str(card_for(slack, OWNER)["blocks"])
    blank = report(h, key, dedup_key="  ")
    assert blank["id"] != first["id"]
