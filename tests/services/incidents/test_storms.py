"""Storms: an agent failing fast with new dedup keys pages its owner through one card and one escalation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot import ids
from services.agents.service import require_agent
from services.audit.models import AuditEntry
from services.incidents.models import Incident, IncidentStorm
from services.outbox.models import OutboxMessage
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, CAROL, OWNER, Harness
from tests.services.incidents.helpers import CHAIN, cards_in, channel_of, report, tick, wait_status
from tests.services.outbox.helpers import make_sender, running, until


def storm_cards(slack: FakeSlack, who: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages_in(channel_of(slack, who))
            if not m.get("thread_ts") and "Incident storm" in str((m.get("blocks") or [{}])[0])]


def replies_to(slack: FakeSlack, card: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in slack.messages_in(card["channel"]) if m.get("thread_ts") == card["ts"]]


def burst(h: Harness, key: str, count: int, **fields: Any) -> list[dict[str, Any]]:
    """`count` reports with new dedup keys, as an agent failing fast sends them."""
    return [report(h, key, dedup_key=f"k-{n}-{fields.get('severity', 'high')}", summary=f"quote {n} failed",
                   **fields) for n in range(count)]


def stored(h: Harness) -> list[Incident]:
    with h.ctx.read() as session:
        return list(session.exec(select(Incident).order_by(Incident.id)).all())  # type: ignore[arg-type]


@pytest.mark.postgres_too
def test_a_storm_starts_at_the_threshold_with_one_card(any_h: Harness, slack: FakeSlack) -> None:
    """Three incidents page one by one; from the fourth on they are created as ever (201, own id, audit) but the
    owner gets ONE storm card, redrawn in place, and no card or thread line per incident."""
    h = any_h
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = burst(h, key, 12)
    h.drain()
    assert len({c["id"] for c in created}) == 12
    assert [c["storm_id"] is not None for c in created] == [False] * 3 + [True] * 9
    assert len({c["storm_id"] for c in created[3:]}) == 1
    assert len(cards_in(slack, OWNER)) == 3
    [card] = storm_cards(slack, OWNER)
    assert "quoter: 9 incidents" in card["blocks"][0]["text"]["text"] and "quote 11 failed" in str(card["blocks"])
    assert not replies_to(slack, card)
    with h.ctx.read() as session:
        opened = session.exec(select(AuditEntry).where(AuditEntry.verb == "incident.opened")).all()
        [storm] = session.exec(select(IncidentStorm)).all()
    assert len(opened) == 12 and storm.lead_incident_id == created[3]["id"] and list(storm.cards) == [OWNER]


def test_the_window_and_acknowledged_incidents_keep_a_new_one_alone(h: Harness, slack: FakeSlack,
                                                                     clock: FakeClock) -> None:
    """Only triggered incidents opened within the window count: older ones, or acknowledged ones, do not."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    burst(h, key, 3)
    clock.advance(601)
    late = report(h, key, dedup_key="late")
    assert late["storm_id"] is None
    h.drain()
    h.click(cards_in(slack, OWNER)[-1], ids.INCIDENT_ACK, user=OWNER)
    wait_status(h, key, late["id"], "acknowledged")
    burst(h, key, 2, severity="low")  # with `late` acknowledged: 2 triggered within the window
    assert report(h, key, dedup_key="third")["storm_id"] is None
    assert report(h, key, dedup_key="fourth")["storm_id"] is not None


@pytest.fixture
def off_h(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[],
                 COUNTERSIGN_INCIDENT_STORM_AFTER=0) as harness:
        yield harness


def test_zero_turns_grouping_off(off_h: Harness, slack: FakeSlack) -> None:
    key = off_h.register(escalation_chain=CHAIN)["api_key"]
    assert all(c["storm_id"] is None for c in burst(off_h, key, 6))
    off_h.drain()
    assert len(cards_in(slack, OWNER)) == 6 and not storm_cards(slack, OWNER)


def test_one_storm_card_per_agent_and_recipient_and_the_lead_alone_nudges(h: Harness, slack: FakeSlack,
                                                                          clock: FakeClock) -> None:
    """Two agents of one owner storm apart. The chain reaches the backup and the channel with one storm card each,
    not one card per grouped incident; on the chain's second pass only the lead nudges, once per recipient."""
    quoter = h.register("quoter", escalation_chain=CHAIN, escalation_repeat=1)["api_key"]
    billing = h.register("billing", escalation_chain=CHAIN)["api_key"]
    burst(h, quoter, 10)
    burst(h, billing, 5)
    h.drain()
    titles = sorted(c["blocks"][0]["text"]["text"] for c in storm_cards(slack, OWNER))
    assert titles == ["Incident storm: billing: 2 incidents in 0 s", "Incident storm: quoter: 7 incidents in 0 s"]
    for _ in range(2):
        clock.advance(60)
        tick(h)
    for who in (BACKUP, "C056REVIEW"):
        assert len(storm_cards(slack, who)) == 2 and len(cards_in(slack, who)) == 6  # the six that stand alone
        assert all(not replies_to(slack, card) for card in storm_cards(slack, who))
    clock.advance(60)  # the second pass of quoter's chain starts with the owner again
    tick(h)
    quoter_card = next(c for c in storm_cards(slack, OWNER) if "quoter" in c["text"])
    nudges = [r["text"] for r in replies_to(slack, quoter_card)]
    assert len(nudges) == 1 and "storm still needs you" in nudges[0]


def test_a_critical_incident_in_a_storm_still_pauses_the_agent(h: Harness, slack: FakeSlack) -> None:
    """A critical incident's leading step (pause, on the default chain) runs at once even inside a storm."""
    key = h.register()["api_key"]
    burst(h, key, 3)
    grouped = report(h, key, dedup_key="boom", severity="critical", summary="wired money twice")
    assert grouped["storm_id"] is not None and grouped["steps_taken"][0]["verb"] == "paused_agent"
    with h.ctx.read() as session:
        assert require_agent(session=session, name="quoter").status == "paused"
    h.drain()
    assert "1 critical" in str(storm_cards(slack, OWNER)[0]["blocks"])


def test_acknowledge_all_stops_every_grouped_chain(h: Harness, slack: FakeSlack, clock: FakeClock) -> None:
    """One click acknowledges every incident of the storm (each through the acknowledge flow, audited): no step
    reaches the backup afterwards, and the acknowledger is reminded once (the lead), not once per incident."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = burst(h, key, 10)
    h.drain()
    [card] = storm_cards(slack, OWNER)
    h.click(card, ids.STORM_ACK_ALL, user=OWNER, response_url=slack.response_url("all"))
    [answer] = slack.wait_for_response("all")
    assert answer["response_type"] == "ephemeral" and "Acknowledged *7* incidents" in answer["text"]
    grouped = [i for i in stored(h) if i.storm_id is not None]
    assert {i.status for i in grouped} == {"acknowledged"} and {i.acked_by for i in grouped} == {OWNER}
    with h.ctx.read() as session:
        acks = session.exec(select(AuditEntry).where(AuditEntry.verb == "incident.acknowledged")).all()
    assert {a.subject for a in acks} == {f"incident:{c['id']}" for c in created[3:]}
    h.drain()
    redrawn = storm_cards(slack, OWNER)[0]
    assert "7 acknowledged" in str(redrawn["blocks"]) and ids.STORM_ACK_ALL not in str(redrawn["blocks"])
    clock.advance(60)
    tick(h)
    assert not storm_cards(slack, BACKUP) and len(cards_in(slack, BACKUP)) == 3  # only the three alone escalate
    clock.advance(3600)
    tick(h)
    reminders = [m for m in slack.messages_in(slack.dm_channel_for(OWNER)) if m["text"].startswith("Reminder")]
    assert [r["text"] for r in reminders] == [f"Reminder: incident #{created[3]['id']} is still open"]


def test_a_stranger_pressing_acknowledge_all_is_refused_politely_and_audited(h: Harness, slack: FakeSlack) -> None:
    """Carol was routed nothing: a polite ephemeral, one audited refusal per click (not one per incident), and
    nothing changes."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    burst(h, key, 6)
    h.drain()
    [card] = storm_cards(slack, OWNER)
    h.click(card, ids.STORM_ACK_ALL, user=CAROL, response_url=slack.response_url("ack"))
    [answer] = slack.wait_for_response("ack")
    assert answer["response_type"] == "ephemeral" and "Sorry, only the people" in answer["text"]
    h.click(card, ids.STORM_PAUSE, user=CAROL, response_url=slack.response_url("pause"))
    assert "Sorry, only quoter's owner" in slack.wait_for_response("pause")[0]["text"]
    assert {i.status for i in stored(h)} == {"triggered"}
    with h.ctx.read() as session:
        refused = session.exec(select(AuditEntry).where(AuditEntry.verb == "incident.action_refused")).all()
        paused = session.exec(select(AuditEntry).where(AuditEntry.verb == "agent.pause_refused")).all()
    assert [(r.actor_id, r.details["action"]) for r in refused] == [(CAROL, "acknowledge")]
    assert [r.actor_id for r in paused] == [CAROL]


def test_a_storm_is_one_post_and_few_updates_in_slack(sqlite_url: str, slack: FakeSlack, receiver: FakeAgentReceiver,
                                                     clock: FakeClock) -> None:
    """Thirty grouped incidents queue one storm post and one waiting edit (each new drawing replaces the waiting
    one), so Slack sees one post and one update, not thirty."""
    with Harness(sqlite_url, slack=slack, receiver=receiver, clock=clock, jobs=[], run_background=False) as h:
        key = h.register(escalation_chain=CHAIN)["api_key"]
        burst(h, key, 33)
        with h.ctx.read() as session:
            rows = session.exec(select(OutboxMessage).where(
                OutboxMessage.message_key.startswith("storm:"))).all()  # type: ignore[union-attr]
        assert sorted(r.method for r in rows) == ["chat.postMessage", "chat.update"]
        sender = make_sender(h.ctx.engine, slack)

        async def deliver() -> None:
            async with running(sender):
                await until(lambda: not h.pending_outbox(), 20, "the outbox to drain")

        asyncio.run(deliver())
    [card] = storm_cards(slack, OWNER)
    versions = slack.versions(card["channel"], card["ts"])
    assert len(versions) == 2 and "quoter: 30 incidents" in versions[-1]["blocks"][0]["text"]["text"]


@pytest.mark.postgres_too
def test_reports_racing_past_the_threshold_start_one_storm_with_one_card(db_url: str, slack: FakeSlack,
                                                                         receiver: FakeAgentReceiver) -> None:
    """Eight reports with new keys at once, past the threshold: every one is created (201), and they meet in one
    storm (the unique open storm per agent), so the owner gets one storm card."""
    with Harness(db_url, slack=slack, receiver=receiver, clock=FakeClock(), jobs=[]) as h:
        key = h.register(escalation_chain=CHAIN)["api_key"]
        burst(h, key, 3)
        codes: list[int] = []

        def send(n: int) -> None:
            body = {"kind": "error", "severity": "high", "summary": f"race {n}", "dedup_key": f"race-{n}"}
            codes.append(h.client.post("/v1/incidents", json=body, headers=h.bearer(key)).status_code)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert codes == [201] * 8
        h.drain()
        grouped = {i.storm_id for i in stored(h) if i.storm_id is not None}
        assert len(grouped) == 1 and len(storm_cards(slack, OWNER)) == 1
