"""Every agent endpoint through the client against a live server: typed results and typed errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from countersign_client import AgentPaused, Conflict, Countersign, NotFound, Unauthorized, ValidationError

from testkit.live import ADMIN_TOKEN
from tests.client.conftest import Live, child_env


def test_incidents_budget_me_and_evals(live: Live, cs: Countersign) -> None:
    """report_incident dedups by key; check_budget, me() and evals come back typed."""
    first = cs.report_incident(kind="anomaly", severity="high", summary="odd totals", dedup_key="totals")
    second = cs.report_incident(kind="anomaly", severity="high", summary="odd totals", dedup_key="totals")
    assert second.id == first.id and second.occurrences == 2
    assert cs.incidents.get(first.id).status == "triggered"
    check = cs.check_budget(0.01)
    assert check.allowed is True
    me = cs.me()
    assert me.status == "active" and not me.paused
    tag = f"evals-{first.id}"
    live.reviewer.decide_later(tag, "approve")
    decided = cs.request_approval(action="refund", title=tag, body="b", timeout=60)
    rows = cs.evals.list(action="refund")
    assert [(r["draft_id"], r["verdict"]) for r in rows] == [(decided.id, "approved")]


def test_errors_from_the_live_server_are_typed(live: Live, cs: Countersign, agent: dict[str, Any]) -> None:
    """401, 404, 409, 422 and 423 from the real server arrive as their exception types with problem+json fields."""
    with pytest.raises(Unauthorized):
        Countersign(api_key="wrong", base_url=live.base_url).me()
    with pytest.raises(NotFound):
        cs.drafts.get("drf_nope")
    with pytest.raises(ValidationError) as invalid:
        cs.drafts.create(action="Not A Slug", title="t", body="b")
    assert any(e["field"] == "action" for e in invalid.value.errors)
    draft = cs.drafts.create(action="refund", title="to cancel", body="b")
    assert cs.drafts.cancel(draft.id, reason="changed my mind").status == "cancelled"
    with pytest.raises(Conflict):
        cs.drafts.cancel(draft.id)
    paused = httpx.post(f"{live.base_url}/v1/agents/{agent['name']}/pause", json={"reason": "test"},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert paused.status_code == 200, paused.text
    with pytest.raises(AgentPaused) as caught:
        cs.drafts.create(action="refund", title="t", body="b")
    assert caught.value.status == 423 and cs.me().paused


def test_run_beats_in_the_background_and_finishes_failed_on_an_exception(cs: Countersign) -> None:
    """The context manager beats while the block runs, carries the step, and records "failed" with the error."""
    with pytest.raises(RuntimeError):
        with cs.run("month-end close", heartbeat_every_s=1, grace_s=1) as run:
            run.step("reconcile ledger 1 of 5")
            deadline = time.monotonic() + 10
            while cs.runs.get(run.run_id).beats < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            raise RuntimeError("ledger mismatch")
    final = cs.runs.get(run.run_id)
    assert final.status == "failed" and final.beats >= 2 and final.last_step == "reconcile ledger 1 of 5"


def test_async_run_finishes_succeeded(acs_factory: Any) -> None:
    """The async twin beats from a task and finishes "succeeded" when the block ends normally."""
    async def main() -> Any:
        async with acs_factory() as acs:
            async with acs.run("nightly sync", heartbeat_every_s=1, grace_s=1) as run:
                run.step("copy")
                while run.beats < 1:
                    await asyncio.sleep(0.05)
            return await acs.runs.get(run.run_id)

    final = asyncio.run(main())
    assert final.status == "succeeded" and final.last_step == "copy"


BEATING = """
import sys, time
from countersign_client import Countersign
cs = Countersign()
with cs.run("critical job", heartbeat_every_s=1, grace_s=1) as run:
    run.step("working")
    print(run.run_id, flush=True)
    while True:
        time.sleep(0.1)
"""


def test_a_process_that_stops_beating_is_halted_on_the_server(live: Live, cs: Countersign,
                                                             agent: dict[str, Any]) -> None:
    """SIGKILL the process holding a run: no finish is sent, beats stop, and the server halts the run."""
    env = child_env(COUNTERSIGN_URL=live.base_url, COUNTERSIGN_API_KEY=agent["api_key"])
    proc = subprocess.Popen([sys.executable, "-c", BEATING], env=env, stdout=subprocess.PIPE, text=True)
    try:
        run_id = (proc.stdout.readline() if proc.stdout else "").strip()
        assert run_id, "the child did not start a run"
        deadline = time.monotonic() + 15
        while cs.runs.get(run_id).beats < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cs.runs.get(run_id).status == "running"
    finally:
        proc.kill()
        proc.wait(10)
    deadline = time.monotonic() + 20
    while (run := cs.runs.get(run_id)).status != "halted" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.status == "halted" and run.halt_reason == "heartbeat", run.raw
