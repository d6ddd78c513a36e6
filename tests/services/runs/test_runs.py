"""Runs and the dead-man's switch: a silent run halts into an incident, the owner's choice reaches the agent as
a signed callback, and a late beat is reported, not hidden."""

from __future__ import annotations

from typing import Any

from bot import ids
from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import BACKUP, CAROL, OWNER, Harness
from tests.services.incidents.helpers import card_for, cards_in, incident, thread_of, tick


def start(h: Harness, key: str, **fields: Any) -> dict[str, Any]:
    body = {"expect_heartbeat_every_s": 10, "grace_s": 5, "name": "nightly-reprice", **fields}
    response = h.client.post("/v1/runs", json=body, headers=h.bearer(key))
    assert response.status_code == 201, response.text
    return response.json()


def beat(h: Harness, key: str, run_id: str, step: str | None = None) -> Any:
    return h.client.post(f"/v1/runs/{run_id}/heartbeat", json={"step": step}, headers=h.bearer(key))


def test_missed_heartbeat_opens_a_halted_incident_with_the_last_step(any_h: Harness, slack: FakeSlack,
                                                                     clock: FakeClock) -> None:
    """No beat within every + grace: the run is halted and the owner's card names the last step reached."""
    h = any_h  # on SQLite and PostgreSQL
    key = h.register()["api_key"]
    run = start(h, key)
    clock.advance(8)
    assert beat(h, key, run["run_id"], "3/7 repricing lanes").status_code == 200
    clock.advance(14)
    tick(h)
    assert h.client.get(f"/v1/runs/{run['run_id']}", headers=h.bearer(key)).json()["status"] == "running"
    clock.advance(1)
    tick(h)
    tick(h)  # halted once, not once per tick
    shown = h.client.get(f"/v1/runs/{run['run_id']}", headers=h.bearer(key)).json()
    assert shown["status"] == "halted" and shown["halt_reason"] == "heartbeat" and shown["incident_id"]
    opened = incident(h, key, shown["incident_id"])
    assert opened["kind"] == "halted" and opened["run_id"] == run["run_id"] and opened["occurrences"] == 1
    assert opened["details"]["last_step"] == "3/7 repricing lanes"
    card = str(card_for(slack, OWNER)["blocks"])
    assert "3/7 repricing lanes" in card
    for choice in ("resume", "abort", "handoff"):
        assert ids.RUN_HALT_PREFIX + choice in card


def test_owner_halt_choice_reaches_the_agent_as_a_signed_callback(any_h: Harness, slack: FakeSlack, clock: FakeClock,
                                                                  receiver: FakeAgentReceiver) -> None:
    """The owner clicks a halt choice; the agent receives run.halt_decision, signed with its webhook secret."""
    h = any_h  # on SQLite and PostgreSQL
    created = h.register()
    key = created["api_key"]
    run = start(h, key, halt_policy=["resume", "abort"], metadata={"batch": 7})
    clock.advance(16)
    tick(h)
    card = card_for(slack, OWNER)
    assert ids.RUN_HALT_PREFIX + "handoff" not in str(card["blocks"])
    h.click(card, ids.RUN_HALT_PREFIX + "abort", user=CAROL, response_url=slack.response_url("carol"))
    assert "only quoter's owner" in slack.wait_for_response("carol")[0]["text"]
    h.click(card, ids.RUN_HALT_PREFIX + "abort", user=OWNER, response_url=slack.response_url("owner"))
    slack.wait_for_response("owner")
    delivery = receiver.wait_for(1, timeout=10)[0]
    assert delivery.event == "run.halt_decision" and delivery.verify(created["webhook_secret"])
    data = delivery.json["data"]
    assert data["run_id"] == run["run_id"] and data["decision"] == "abort" and data["decided_by"] == OWNER
    assert data["metadata"] == {"batch": 7}
    h.drain()
    after = incident(h, key, data["incident_id"])
    assert after["status"] == "acknowledged" and after["acknowledged_by"] == OWNER
    assert "Halt decision: *abort*" in str(card_for(slack, OWNER)["blocks"])
    h.click(card, ids.RUN_HALT_PREFIX + "resume", user=OWNER, response_url=slack.response_url("again"))
    assert "already chose" in slack.wait_for_response("again")[0]["text"]


def test_a_run_that_comes_back_or_finishes_resolves_its_halt_and_stops_paging(any_h: Harness, slack: FakeSlack,
                                                                               clock: FakeClock) -> None:
    """The run beats again: it is marked recovered, the card says so, and the incident is resolved with no
    escalation step left (before, it stayed triggered and paged the backups after the run was fine). A later
    silence opens a fresh incident; finishing the run resolves that one too."""
    h = any_h  # on SQLite and PostgreSQL
    key = h.register(escalation_chain=[{"notify": "owner"}, {"wait_s": 60}, {"notify": "backups"}])["api_key"]
    run = start(h, key, step="loading")
    clock.advance(16)
    tick(h)
    halted = incident(h, key, h.client.get(f"/v1/runs/{run['run_id']}", headers=h.bearer(key)).json()["incident_id"])
    assert halted["status"] == "triggered" and halted["next_step_at"] is not None
    back = beat(h, key, run["run_id"], "4/7")
    assert back.status_code == 200 and back.json()["status"] == "recovered"
    h.drain()
    card = card_for(slack, OWNER)
    assert "The run came back" in str(card["blocks"]) and "4/7" in str(card["blocks"])
    first = incident(h, key, halted["id"])
    assert first["status"] == "resolved" and first["next_step_at"] is None and "came back" in first["resolution_note"]
    assert any("come back" in line for line in thread_of(slack, card))
    clock.advance(120)
    beat(h, key, run["run_id"], "5/7")
    tick(h)
    assert not cards_in(slack, BACKUP)  # the backups step never ran
    clock.advance(16)
    tick(h)  # silent again: a new incident for the new halt
    again = h.client.get(f"/v1/runs/{run['run_id']}", headers=h.bearer(key)).json()["incident_id"]
    assert again != halted["id"] and incident(h, key, again)["status"] == "triggered"
    done = h.client.post(f"/v1/runs/{run['run_id']}/finish", json={"status": "succeeded"}, headers=h.bearer(key))
    assert done.status_code == 200
    second = incident(h, key, again)
    assert second["status"] == "resolved" and second["next_step_at"] is None
    assert second["resolution_note"] == "the run finished: succeeded"


def test_max_duration_halts_a_run_that_keeps_beating(h: Harness, clock: FakeClock) -> None:
    """A run that beats on time but never finishes halts at max_duration_s."""
    key = h.register()["api_key"]
    run = start(h, key, max_duration_s=30)
    for _ in range(3):
        clock.advance(9)
        beat(h, key, run["run_id"], "looping")
    clock.advance(3)
    tick(h)
    shown = h.client.get(f"/v1/runs/{run['run_id']}", headers=h.bearer(key)).json()
    assert shown["status"] == "halted" and shown["halt_reason"] == "max_duration"


def test_finish_ends_watching_and_late_calls_conflict(h: Harness, clock: FakeClock) -> None:
    """A finished run is never halted; beating or finishing it again is 409."""
    key = h.register()["api_key"]
    run = start(h, key)
    done = h.client.post(f"/v1/runs/{run['run_id']}/finish", json={"status": "succeeded"}, headers=h.bearer(key))
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    clock.advance(3600)
    tick(h)
    assert h.client.get(f"/v1/runs/{run['run_id']}", headers=h.bearer(key)).json()["status"] == "succeeded"
    assert beat(h, key, run["run_id"]).status_code == 409
    assert h.client.post(f"/v1/runs/{run['run_id']}/finish", json={"status": "failed"},
                         headers=h.bearer(key)).status_code == 409


def test_runs_are_private_validated_and_idempotent(h: Harness) -> None:
    """Another agent's run is 404; bad fields are named; the same Idempotency-Key replays the run."""
    key = h.register("quoter")["api_key"]
    other = h.register("billing")["api_key"]
    run = start(h, key)
    assert beat(h, other, run["run_id"]).status_code == 404
    assert h.client.get(f"/v1/runs/{run['run_id']}", headers=h.bearer(other)).status_code == 404
    bad = h.client.post("/v1/runs", headers=h.bearer(key), json={
        "expect_heartbeat_every_s": 0, "grace_s": -1, "halt_policy": ["retry"]})
    assert bad.status_code == 422
    assert {"expect_heartbeat_every_s", "grace_s", "halt_policy[0]"} <= {e["field"] for e in bad.json()["errors"]}
    bad_finish = h.client.post(f"/v1/runs/{run['run_id']}/finish", json={"status": "done"}, headers=h.bearer(key))
    assert bad_finish.status_code == 422 and bad_finish.json()["errors"][0]["field"] == "status"
    headers = {**h.bearer(key), "Idempotency-Key": "run-1"}
    body = {"expect_heartbeat_every_s": 10, "grace_s": 5}
    first = h.client.post("/v1/runs", json=body, headers=headers).json()
    assert h.client.post("/v1/runs", json=body, headers=headers).json()["run_id"] == first["run_id"]
