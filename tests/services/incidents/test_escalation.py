"""Incidents through the HTTP API, the fake Slack over real HTTP and a FakeClock: paging, escalation, lifecycle."""

from __future__ import annotations

from typing import Any

from bot import ids
from services.agents.service import require_agent
from services.events import AFTER_COMMIT, Reaction
from services.incidents.service import has_open_critical
from services.wiring import INCIDENT_OPENED, build_events
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, OWNER, REVIEW_CHANNEL, Harness
from tests.services.incidents.helpers import (
    CHAIN,
    card_for,
    cards_in,
    incident,
    report,
    thread_of,
    tick,
    wait_status,
)


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


def test_no_ack_reaches_the_backup_after_the_wait_and_ack_stops_it(any_h: Harness, slack: FakeSlack,
                                                                   clock: FakeClock) -> None:
    """Unacknowledged, the chain reaches the backup after its wait; an ack then stops the rest of the chain."""
    h = any_h  # on SQLite and PostgreSQL
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
    shown = wait_status(h, key, incident["id"], "acknowledged")
    h.drain()
    assert shown["acknowledged_by"] == BACKUP
    assert [s["note"] for s in shown["steps_taken"]] == ["owner", "backups"]
    clock.advance(3600 * 0.5)
    h.run_jobs()
    h.drain()
    assert not slack.messages_in(REVIEW_CHANNEL)
    assert "Acknowledged" in str(card_for(slack, OWNER)["blocks"])  # every card updated in place


def test_dedup_raises_occurrences_without_paging_again(any_h: Harness, slack: FakeSlack) -> None:
    """A second report with the same dedup_key is 200 on the open incident: counted, card redrawn, no new DM."""
    h = any_h  # on SQLite and PostgreSQL
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


def test_long_overdue_step_is_sent_once_and_the_chain_keeps_its_spacing(h: Harness, slack: FakeSlack,
                                                                        clock: FakeClock) -> None:
    """After a long outage the due step goes out once, and the next one waits its full time from now."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    clock.advance(hours=3)
    tick(h)
    tick(h)
    assert len(cards_in(slack, BACKUP)) == 1 and not cards_in(slack, REVIEW_CHANNEL)
    clock.advance(59)
    tick(h)
    assert not cards_in(slack, REVIEW_CHANNEL)
    clock.advance(1)
    tick(h)
    assert len(cards_in(slack, REVIEW_CHANNEL)) == 1
    assert [s["note"] for s in incident(h, key, created["id"])["steps_taken"]] == ["owner", "backups", "channel"]


def test_snooze_re_escalates_from_the_top_after_its_time(any_h: Harness, slack: FakeSlack, clock: FakeClock) -> None:
    """Snoozed for 30 minutes, nothing happens until it ends; then the chain starts again at the owner."""
    h = any_h  # on SQLite and PostgreSQL
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    h.drain()
    owner_card = card_for(slack, OWNER)
    assert h.click(owner_card, ids.INCIDENT_SNOOZE_PREFIX + "1800", user=OWNER).status_code == 200
    wait_status(h, key, created["id"], "snoozed")
    h.drain()
    clock.advance(1799)
    tick(h)
    assert not cards_in(slack, BACKUP)
    clock.advance(1)
    tick(h)
    shown = incident(h, key, created["id"])
    assert shown["status"] == "triggered"
    assert [s["note"] for s in shown["steps_taken"]] == ["owner", "owner"]
    assert any(f"<@{OWNER}>" in line and "still" in line for line in thread_of(slack, owner_card))
    clock.advance(60)
    tick(h)
    assert len(cards_in(slack, BACKUP)) == 1


def test_thread_under_the_owner_card_logs_steps_and_actions(h: Harness, slack: FakeSlack, clock: FakeClock) -> None:
    """Every step and every action is a line in the owner's card thread."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    clock.advance(60)
    tick(h)
    h.click(card_for(slack, BACKUP), ids.INCIDENT_ACK, user=BACKUP)
    wait_status(h, key, created["id"], "acknowledged")
    h.drain()
    lines = thread_of(slack, card_for(slack, OWNER))
    assert len(lines) == 3 and "notified" in lines[0] and BACKUP in lines[1] and "acknowledged" in lines[2]


def test_usergroup_step_mentions_the_group_in_the_review_channel(h: Harness, slack: FakeSlack,
                                                                 clock: FakeClock) -> None:
    """A `usergroup:S…` step posts the card to the review channel with the group mentioned."""
    chain = [{"notify": "owner"}, {"wait_s": 5}, {"notify": "usergroup:S090LEADS"}]
    key = h.register(escalation_chain=chain)["api_key"]
    report(h, key)
    clock.advance(5)
    tick(h)
    assert "<!subteam^S090LEADS>" in str(card_for(slack, REVIEW_CHANNEL)["blocks"])


def test_low_severity_stops_after_the_owner(h: Harness, slack: FakeSlack, clock: FakeClock) -> None:
    """`low` pages the owner and nobody else, however long it stays open."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key, severity="low")
    clock.advance(hours=5)
    tick(h)
    assert not cards_in(slack, BACKUP) and not cards_in(slack, REVIEW_CHANNEL)
    assert incident(h, key, created["id"])["next_step_at"] is None


def test_critical_on_the_default_chain_pauses_the_agent_first(h: Harness, slack: FakeSlack) -> None:
    """`critical` with no chain configured pauses the agent at once, and the owner still gets the card."""
    key = h.register()["api_key"]
    report(h, key, severity="critical")
    h.drain()
    me = h.client.get("/v1/agents/me", headers=h.bearer(key)).json()
    assert me["status"] == "paused" and me["paused_by"] == "escalation"
    assert card_for(slack, OWNER)
    again = h.client.post("/v1/incidents", headers=h.bearer(key), json={
        "kind": "error", "severity": "low", "summary": "still here"})
    assert again.status_code == 423 and again.json()["paused_by"] == "escalation"
    with h.ctx.read() as session:
        assert has_open_critical(session=session, agent_id=require_agent(session=session, name="quoter").id)


def test_incident_opened_is_announced_once_per_new_incident(sqlite_url: str, slack: FakeSlack,
                                                           receiver: FakeAgentReceiver, clock: FakeClock) -> None:
    """Other domains (autonomy) hear `incident.opened` with the agent and incident; a dedup hit is not new."""
    heard: list[tuple[str, str, dict]] = []

    def listener(*, session: Any, ctx: Any, agent: Any, incident: Any, **_: Any) -> None:
        heard.append((agent.name, incident.kind, incident.details))

    events = build_events(extra=[Reaction(INCIDENT_OPENED, "test.listener", listener, AFTER_COMMIT)])
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[], events=events) as h:
        key = h.register()["api_key"]
        report(h, key, kind="policy_violation", details={"action": "refund"}, dedup_key="refunds")
        report(h, key, kind="policy_violation", details={"action": "refund"}, dedup_key="refunds")
    assert heard == [("quoter", "policy_violation", {"action": "refund"})]


def test_editing_the_chain_does_not_change_an_open_incident(h: Harness, slack: FakeSlack, clock: FakeClock) -> None:
    """The chain is copied at open: removing backups from the agent's chain later still pages the backup."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    report(h, key)
    patched = h.client.patch("/v1/agents/quoter", headers=h.admin, json={"escalation_chain": [{"notify": "owner"}]})
    assert patched.status_code == 200
    clock.advance(60)
    tick(h)
    assert len(cards_in(slack, BACKUP)) == 1
