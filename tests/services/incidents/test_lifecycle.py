"""The rest of the lifecycle: resolve with a note, the acknowledger's reminder, races and refusals, privacy."""

from __future__ import annotations

from bot import ids
from testkit.clock import FakeClock
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, OWNER, Harness
from tests.services.incidents.helpers import CHAIN, card_for, cards_in, incident, report, tick, wait_status


def test_resolve_opens_a_modal_and_the_note_lands_on_every_card(h: Harness, slack: FakeSlack,
                                                                clock: FakeClock) -> None:
    """Resolve asks for a note in a modal; submitting resolves, stops the chain and redraws the cards."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key, dedup_key="lane")
    clock.advance(60)
    tick(h)
    h.click(card_for(slack, OWNER), ids.INCIDENT_RESOLVE, user=OWNER)
    opened = slack.wait_for("views.open")[0]
    view = opened.response["view"]
    assert view["callback_id"] == ids.INCIDENT_RESOLVE_VIEW
    values = {ids.INCIDENT_NOTE_BLOCK: {ids.INCIDENT_NOTE_INPUT: {"type": "plain_text_input",
                                                                  "value": "bad fuel table, reverted"}}}
    assert h.submit_view(view, values, user=OWNER).status_code == 200
    h.drain()
    shown = incident(h, key, created["id"])
    assert shown["status"] == "resolved" and shown["resolved_by"] == OWNER
    assert shown["resolution_note"] == "bad fuel table, reverted" and shown["next_step_at"] is None
    for who in (OWNER, BACKUP):
        text = str(card_for(slack, who)["blocks"])
        assert "Resolved" in text and "bad fuel table" in text and ids.INCIDENT_ACK not in text
    again = report(h, key, dedup_key="lane")  # resolved: the key is free again
    assert again["id"] != created["id"] and again["occurrences"] == 1


def test_resolving_twice_is_refused_inside_the_modal(h: Harness, slack: FakeSlack) -> None:
    """A second resolve (another replica, another person) shows why in the modal instead of failing silently."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    h.drain()
    h.click(card_for(slack, OWNER), ids.INCIDENT_RESOLVE, user=OWNER)
    view = slack.wait_for("views.open")[0].response["view"]
    assert h.submit_view(view, {}, user=OWNER).status_code == 200
    second = h.submit_view(view, {}, user=BACKUP)
    assert second.json()["response_action"] == "errors"
    assert "already resolved" in second.json()["errors"][ids.INCIDENT_NOTE_BLOCK]
    assert incident(h, key, created["id"])["resolved_by"] == OWNER


def test_second_ack_gets_a_polite_ephemeral(h: Harness, slack: FakeSlack) -> None:
    """Two people acknowledge: one wins, the other is told who did, by ephemeral."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    h.drain()
    card = card_for(slack, OWNER)
    h.click(card, ids.INCIDENT_ACK, user=OWNER)
    wait_status(h, key, created["id"], "acknowledged")
    h.click(card, ids.INCIDENT_ACK, user=BACKUP, response_url=slack.response_url("late-ack"))  # also routed
    answer = slack.wait_for_response("late-ack")[0]
    assert answer["response_type"] == "ephemeral" and "already acknowledged" in answer["text"]


def test_an_acknowledgement_without_resolution_reminds_the_acknowledger(h: Harness, slack: FakeSlack,
                                                                       clock: FakeClock) -> None:
    """An hour after the ack (the default), the acknowledger gets a DM reminder; once, not every tick."""
    key = h.register(escalation_chain=CHAIN)["api_key"]
    created = report(h, key)
    h.drain()
    h.click(card_for(slack, OWNER), ids.INCIDENT_ACK, user=BACKUP)
    wait_status(h, key, created["id"], "acknowledged")
    h.drain()
    clock.advance(3599)
    tick(h)
    reminders = lambda: [m for m in slack.messages_in(slack.dm_channel_for(BACKUP)) if "Reminder" in m["text"]]  # noqa: E731
    assert not reminders()
    clock.advance(1)
    tick(h)
    clock.advance(3600)
    tick(h)
    assert len(reminders()) == 1 and not cards_in(slack, BACKUP)


def test_another_agents_incident_is_not_found(h: Harness) -> None:
    """An agent never sees another agent's incident: 404, as if it did not exist."""
    mine = h.register("quoter")["api_key"]
    theirs = h.register("billing")["api_key"]
    created = report(h, mine)
    assert h.client.get(f"/v1/incidents/{created['id']}", headers=h.bearer(theirs)).status_code == 404
    assert h.client.get("/v1/incidents/999999", headers=h.bearer(mine)).status_code == 404


def test_bad_reports_name_the_field(h: Harness) -> None:
    """Bad input is a 422 problem naming the field, never a 500."""
    key = h.register()["api_key"]
    bad = h.client.post("/v1/incidents", headers=h.bearer(key), json={
        "kind": "error", "severity": "urgent", "summary": " ", "trace_url": "ftp://x", "colour": "red"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert {"severity", "summary", "trace_url", "colour"} <= {e["field"] for e in bad.json()["errors"]}


def test_idempotency_key_replays_the_report(h: Harness, slack: FakeSlack) -> None:
    """The same Idempotency-Key and body replays the first answer without counting another occurrence."""
    key = h.register()["api_key"]
    body = {"kind": "error", "severity": "high", "summary": "once", "dedup_key": "k"}
    headers = {**h.bearer(key), "Idempotency-Key": "abc"}
    first = h.client.post("/v1/incidents", json=body, headers=headers)
    second = h.client.post("/v1/incidents", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and second.json() == first.json()
    assert h.client.post("/v1/incidents", json={**body, "summary": "other"}, headers=headers).status_code == 409
    assert incident(h, key, first.json()["id"])["occurrences"] == 1
