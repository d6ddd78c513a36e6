"""A Temporal worker in its own process, for the durable-engine tests and the benchmark: one workflow that asks
for approval as its input says and returns the decision (or the exception the raising variant gave).

    python -m testkit.temporal_worker --temporal HOST:PORT --task-queue Q --base-url URL --api-key KEY

A draft whose title contains LOSE_ANSWER has the answer to its first POST lost on the way back (the request
reached Countersign; the worker sees a broken connection), so the activity fails and Temporal retries it.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

# Imported as the contract shows it, not passed through: the client must load inside the workflow sandbox.
from countersign_client import Countersign, NotApproved
from countersign_client import temporal as cs_temporal
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import httpx

WORKFLOW = "CountersignApproval"
WAIT_ONLY = "CountersignWaitOnly"
LOSE_ANSWER = "[lose-first-answer]"


@workflow.defn(name=WORKFLOW)
class ApprovalFlow:
    @workflow.run
    async def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        timeout = timedelta(seconds=spec["timeout_s"]) if spec.get("timeout_s") else None
        try:
            decision = await cs_temporal.approval(action=spec.get("action", "refund"), title=spec["title"],
                                                  body=spec["body"], timeout=timeout,
                                                  raise_unless_approved=bool(spec.get("raise")))
        except NotApproved as exc:
            return {"raised": type(exc).__name__, "reason": exc.reason}
        return {**decision.to_dict(), "resumed_at": workflow.now().timestamp()}


@workflow.defn(name=WAIT_ONLY)
class WaitOnlyFlow:
    """Sleeps first, then waits for a decision on a draft id it is given: a signal sent during the sleep (before
    the wait began) must still be the answer."""

    @workflow.run
    async def run(self, draft_id: str) -> dict[str, Any]:
        await workflow.sleep(timedelta(seconds=1))
        return (await cs_temporal.wait_for_decision(draft_id, timeout=timedelta(seconds=30))).to_dict()


class LoseFirstAnswer(httpx.BaseTransport):
    """Forwards every request; for the first draft POST marked LOSE_ANSWER, drops the answer after the server
    has acted on it."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost: set[bytes] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = request.read()
        if request.method == "POST" and LOSE_ANSWER.encode() in body and body not in self.lost:
            self.lost.add(body)
            response.close()
            raise httpx.ReadError("connection reset before the answer arrived", request=request)
        return response


async def serve(args: argparse.Namespace) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(args.temporal, namespace=args.namespace)
    cs = Countersign(api_key=args.api_key, base_url=args.base_url, max_retries=0, transport=LoseFirstAnswer())
    # A killed worker's workflow tasks wait on its sticky queue this long before any worker may take them
    # (Temporal's default is 5 s); the crash test restarts the worker at once, so one second is enough.
    worker = Worker(client, task_queue=args.task_queue, workflows=[ApprovalFlow, WaitOnlyFlow],
                    activities=cs_temporal.activities(cs), sticky_queue_schedule_to_start_timeout=timedelta(seconds=1))
    print("worker ready", flush=True)
    await worker.run()


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--temporal", "--task-queue", "--base-url", "--api-key"):
        parser.add_argument(name, required=True)
    parser.add_argument("--namespace", default="default")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
