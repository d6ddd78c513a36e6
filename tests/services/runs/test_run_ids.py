"""POST /v1/runs takes the agent's own run_id: idempotent while the run is open, scoped to the agent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testkit.clock import FakeClock
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from tests.harness import OWNER, Harness
from tests.services.incidents.helpers import tick

BODY = {"expect_heartbeat_every_s": 10, "grace_s": 5, "name": "month-end close"}
RUN_ID = "close:2026-11.ledger_3-of-5"


@pytest.fixture
def app(db_url: str, slack: FakeSlack, receiver: FakeAgentReceiver, clock: FakeClock) -> Iterator[Harness]:
    """The app on SQLite and on PostgreSQL; time moves only when the test advances the clock and ticks."""
    with Harness(db_url, slack=slack, receiver=receiver, clock=clock, jobs=[]) as harness:
        yield harness


def post(h: Harness, key: str, **fields: Any) -> Any:
    return h.client.post("/v1/runs", json={**BODY, **fields}, headers=h.bearer(key))


@pytest.mark.postgres_too
def test_own_run_id_is_idempotent_while_open(app: Harness) -> None:
    """The first start is 201; starting the same open run_id again is 200 with that run, not a second run."""
    h = app
    key = h.register()["api_key"]
    first = post(h, key, run_id=RUN_ID)
    assert first.status_code == 201 and first.json()["run_id"] == RUN_ID
    beat = h.client.post(f"/v1/runs/{RUN_ID}/heartbeat", json={"step": "2/5"}, headers=h.bearer(key))
    assert beat.status_code == 200
    again = post(h, key, run_id=RUN_ID)
    assert again.status_code == 200 and again.json()["run_id"] == RUN_ID and again.json()["beats"] == 1
    finished = h.client.post(f"/v1/runs/{RUN_ID}/finish", json={"status": "succeeded"}, headers=h.bearer(key))
    assert finished.status_code == 200
    reused = post(h, key, run_id=RUN_ID)
    assert reused.status_code == 409 and "already finished" in reused.json()["detail"]


def test_run_ids_are_per_agent_and_generated_when_absent(app: Harness) -> None:
    """Two agents may use one run_id; without one the server makes a run_… id; bad ids are refused by name."""
    h = app
    one, two = h.register("one")["api_key"], h.register("two")["api_key"]
    assert post(h, one, run_id="nightly").status_code == 201
    assert post(h, two, run_id="nightly").status_code == 201
    assert h.client.get("/v1/runs/nightly", headers=h.bearer(two)).json()["status"] == "running"
    made = post(h, one)
    assert made.status_code == 201 and made.json()["run_id"].startswith("run_")
    for bad in ("", "has space", "x" * 129, "slash/no"):
        refused = post(h, one, run_id=bad)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "run_id", bad
    assert post(h, one, run_id="x" * 128).status_code == 201


def test_halt_of_an_own_run_id_reaches_the_owner_and_the_callback(app: Harness, clock: FakeClock,
                                                                  receiver: FakeAgentReceiver) -> None:
    """A long agent-chosen run_id survives the halt incident and the owner's decision callback."""
    h = app
    key = h.register(callback_url=receiver.url)["api_key"]
    run_id = "r." + "9" * 120
    assert post(h, key, run_id=run_id).status_code == 201
    clock.advance(20)
    tick(h)
    shown = h.client.get(f"/v1/runs/{run_id}", headers=h.bearer(key)).json()
    assert shown["status"] == "halted" and shown["incident_id"]
    incident = h.client.get(f"/v1/incidents/{shown['incident_id']}", headers=h.bearer(key)).json()
    assert incident["run_id"] == run_id
    from services.runs.flows import decide_halt

    decide_halt(ctx=h.ctx, incident_id=shown["incident_id"], choice="abort", user=OWNER)
    h.drain()
    delivered = receiver.wait_for(1, timeout=10)[0]
    assert delivered.json["data"]["run_id"] == run_id
