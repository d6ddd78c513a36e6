"""Incident Block Kit builders, asserted on their JSON: what each state shows, which buttons, Slack's limits."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bot import ids
from bot.blocks import incidents as blocks
from services.incidents.models import Accountability, EventPublic, IncidentPublic, StormPublic

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def view(**fields: Any) -> IncidentPublic:
    base: dict[str, Any] = dict(
        id=7, agent="quoter", kind="error", severity="high", summary="quotes came back negative", details={},
        dedup_key=None, run_id=None, trace_url=None, status="triggered", occurrences=1, last_occurred_at=NOW,
        acknowledged_by=None, acknowledged_at=None, resolved_by=None, resolved_at=None, resolution_note=None,
        snoozed_until=None, next_step_at=None, created_at=NOW, updated_at=NOW)
    return IncidentPublic(**{**base, **fields})


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_triggered_card_has_the_four_kinds_of_buttons_carrying_the_id() -> None:
    """Acknowledge, Resolve, three snoozes and Pause agent, each valued with the incident id."""
    card = blocks.incident_card(view())
    assert action_ids(card) == [ids.INCIDENT_ACK, ids.INCIDENT_RESOLVE, "incident_snooze_1800", "incident_snooze_3600",
                                "incident_snooze_14400", ids.INCIDENT_PAUSE]
    values = {e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert values == {"7"}
    assert card["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Incident #7: error",
                                                            "emoji": True}}
    assert "quoter" in card["text"] and "HIGH" in card["text"]


def test_acknowledged_and_resolved_cards_change_their_buttons() -> None:
    """Acked: no Acknowledge button, says who. Resolved: no buttons at all, shows the note."""
    acked = blocks.incident_card(view(status="acknowledged", acknowledged_by="U034BACKUP"))
    assert ids.INCIDENT_ACK not in action_ids(acked) and "Acknowledged* by <@U034BACKUP>" in json.dumps(acked)
    done = blocks.incident_card(view(status="resolved", resolved_by="U012OWNER", resolution_note="reverted <b>"))
    assert action_ids(done) == [] and "reverted &lt;b&gt;" in json.dumps(done)


def test_halted_card_offers_only_the_halt_policy_choices_until_decided() -> None:
    """A halted run's card adds its policy's choices; once decided it shows the decision instead."""
    details = {"last_step": "3/7", "halt_policy": ["resume", "handoff"]}
    card = blocks.incident_card(view(kind="halted", run_id="run_1", details=details))
    assert [a for a in action_ids(card) if a.startswith(ids.RUN_HALT_PREFIX)] == ["run_halt_resume", "run_halt_handoff"]
    assert "last step reached: *3/7*" in json.dumps(card)
    decided = blocks.incident_card(view(kind="halted", run_id="run_1", details={
        **details, "halt_decision": "resume", "halt_decided_by": "U012OWNER"}))
    assert not [a for a in action_ids(decided) if a.startswith(ids.RUN_HALT_PREFIX)]
    assert "Halt decision: *resume*" in json.dumps(decided)


def test_group_card_mentions_the_group_and_user_text_cannot_mention_anyone() -> None:
    """A user group's card pings the group; an agent's summary with <!channel> is escaped, not a ping."""
    card = blocks.incident_card(view(summary="<!channel> help"), recipient="S090LEADS")
    text = json.dumps(card)
    assert "<!subteam^S090LEADS>" in text and "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_huge_fields_are_truncated_visibly_within_limits() -> None:
    """A 10,000-character summary and huge details stay within section and message limits, marked truncated."""
    card = blocks.incident_card(view(summary="x" * 10_000, details={f"k{n}": "v" * 500 for n in range(40)},
                                     trace_url="https://t.example/" + "a" * 5000))
    sections = [b["text"]["text"] for b in card["blocks"] if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in sections) and any("(truncated)" in t for t in sections)
    assert len(card["blocks"]) <= 50


def test_thread_lines_say_who_did_what() -> None:
    """Escalation steps and people's actions read as one line each."""
    step = blocks.log_line(EventPublic(at=NOW, kind="step", verb="notified", actor="escalation",
                                       targets=["U034BACKUP", "C056REVIEW"], note="backups"))
    assert "Escalation notified <@U034BACKUP>, <#C056REVIEW>" in step["blocks"][0]["text"]["text"]
    act = blocks.log_line(EventPublic(at=NOW, kind="action", verb="snoozed", actor="U012OWNER", targets=[],
                                      note="for 30 min"))
    assert act["blocks"][0]["text"]["text"] == "<@U012OWNER> snoozed it — for 30 min"


def test_resolve_modal_and_accountability() -> None:
    """The modal carries the incident id and an optional note; `owner` lists the chain in order."""
    modal = blocks.resolve_modal(7, "summary")
    assert modal["callback_id"] == ids.INCIDENT_RESOLVE_VIEW and modal["private_metadata"] == "7"
    assert modal["blocks"][1]["block_id"] == ids.INCIDENT_NOTE_BLOCK and modal["blocks"][1]["optional"] is True
    info = blocks.accountability(Accountability(agent="quoter", owner="U1OWNER", backups=[], review_channel=None,
                                                chain=[{"pause_agent": True}, {"wait_s": 90},
                                                       {"notify": "usergroup:S090LEADS"}], repeat=1, status="active"))
    text = info["blocks"][0]["text"]["text"]
    assert "1. pause the agent\n2. wait 90 s\n3. notify <!subteam^S090LEADS>" in text and "*Backups:* none" in text


def storm(**fields: Any) -> StormPublic:
    base: dict[str, Any] = dict(
        id=3, agent="quoter", lead_incident_id=11, incidents=37, first_at=NOW,
        newest_at=NOW.replace(minute=2), newest_summary="<!channel> quote *37* failed",
        severities={"high": 35, "critical": 2}, statuses={"triggered": 37}, acknowledged_by=[],
        link="https://countersign.example.com/app/incidents?agent=quoter")
    return StormPublic(**{**base, **fields})


def test_storm_card_counts_the_storm_and_offers_acknowledge_all_and_pause() -> None:
    """One line says how many in how long and the newest (escaped); counts by severity; the two buttons carry the
    storm id; the web app link names the agent."""
    card = blocks.storm_card(storm())
    text = json.dumps(card)
    assert card["blocks"][0]["text"]["text"] == "Incident storm: quoter: 37 incidents in 2 min"
    assert "2 critical" in text and "35 high" in text and "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert action_ids(card) == [ids.STORM_ACK_ALL, ids.STORM_PAUSE]
    assert {e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]} == {"3"}
    assert "<https://countersign.example.com/app/incidents?agent=quoter|" in text
    done = blocks.storm_card(storm(statuses={"acknowledged": 30, "resolved": 7}, acknowledged_by=["U012OWNER"]))
    assert action_ids(done) == [ids.STORM_PAUSE] and "30 acknowledged" in json.dumps(done)
    assert action_ids(blocks.storm_card(storm(statuses={"resolved": 37}))) == []
