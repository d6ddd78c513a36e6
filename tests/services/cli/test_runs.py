"""`countersign runs list|show|decide`: a halted run answered without Slack, under the Slack card's rules."""

from __future__ import annotations

import json

from sqlmodel import col, select

from services.audit.models import AuditEntry
from services.outbox.models import OutboxMessage
from testkit.clock import FakeClock
from tests.harness import CAROL, OWNER, Harness
from tests.services.cli.run import cli
from tests.services.incidents.helpers import incident, tick


def test_a_halted_run_is_listed_shown_and_decided_from_the_cli(h: Harness, sqlite_url: str,
                                                                clock: FakeClock) -> None:
    """The halted run comes first with its choices; show names its last step and history; someone who is not
    the owner is refused (and audited); the owner's abort is queued for the agent and acknowledges the incident."""
    key = h.register()["api_key"]
    h.client.post("/v1/runs", json={"expect_heartbeat_every_s": 10, "grace_s": 5, "run_id": "done-1"},
                  headers=h.bearer(key))
    h.client.post("/v1/runs/done-1/finish", json={"status": "succeeded"}, headers=h.bearer(key))
    started = h.client.post("/v1/runs", headers=h.bearer(key), json={
        "expect_heartbeat_every_s": 10, "grace_s": 5, "name": "nightly-reprice", "run_id": "nightly-7",
        "halt_policy": ["resume", "abort"], "step": "3/7 lanes"}).json()
    h.client.post("/v1/runs/nightly-7/heartbeat", json={}, headers=h.bearer(key))
    clock.advance(16)
    tick(h)
    shown = h.client.get("/v1/runs/nightly-7", headers=h.bearer(key)).json()
    assert shown["status"] == "halted" and started["run_id"] == "nightly-7"

    listed = cli("runs", "list", url=sqlite_url)
    assert listed.exit_code == 0, listed.output
    first = listed.stdout.splitlines()[0]
    assert "halted" in first and "nightly-reprice" in first and "waits for: resume|abort" in first
    assert "succeeded" in listed.stdout.splitlines()[1] and "waits for" not in listed.stdout.splitlines()[1]
    run_id = first.split()[0]
    assert run_id.startswith("run_")
    detail = cli("runs", "show", "nightly-7", url=sqlite_url)
    assert detail.exit_code == 0 and f"run {run_id} of quoter: halted" in detail.stdout
    assert "last step:  3/7 lanes" in detail.stdout and "run.halted" in detail.stdout
    assert f"countersign runs decide {run_id} resume|abort --as U…" in detail.stdout

    refused = cli("runs", "decide", run_id, "abort", "--as", CAROL, url=sqlite_url)
    assert refused.exit_code == 2 and "only quoter's owner, a backup owner or an admin" in refused.stderr
    not_allowed = cli("runs", "decide", run_id, "handoff", "--as", OWNER, url=sqlite_url)
    assert not_allowed.exit_code == 2 and "halt policy allows resume, abort" in not_allowed.stderr
    assert cli("runs", "decide", run_id, "abort", "--as", "carol", url=sqlite_url).exit_code == 2
    decided = cli("runs", "decide", "nightly-7", "abort", "--as", OWNER, url=sqlite_url)
    assert decided.exit_code == 0 and "abort chosen for run nightly-7" in decided.stdout
    again = cli("runs", "decide", run_id, "resume", "--as", OWNER, url=sqlite_url)
    assert again.exit_code == 2 and "already chose 'abort'" in again.stderr

    assert incident(h, key, shown["incident_id"])["status"] == "acknowledged"
    as_json = json.loads(cli("runs", "show", run_id, "--format", "json", url=sqlite_url).stdout)
    assert as_json["halt_decision"] == "abort" and as_json["choices"] == []
    with h.ctx.read() as session:
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.method == "run.halt_decision")).one()
        verbs = {(e.verb, e.actor_id, (e.details or {}).get("via")) for e in session.exec(
            select(AuditEntry).where(col(AuditEntry.subject) == f"run:{run_id}"))}
    assert queued.kind == "callback" and queued.payload["data"]["decision"] == "abort"  # the agent hears it
    assert ("run.halt_decision_refused", CAROL, "cli") in verbs and ("run.halt_decided", OWNER, "cli") in verbs
