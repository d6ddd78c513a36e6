"""A Temporal workflow that refunds only after a person approves it in Slack, with the amount as they edited it.

    countersign-temporal-bridge --temporal localhost:7233 --secret whsec_… --port 8787   # the agent's callback_url
    TEMPORAL_ADDRESS=localhost:7233 COUNTERSIGN_URL=http://127.0.0.1:8000 COUNTERSIGN_API_KEY=... \\
        python examples/temporal_refund.py A-1001 12.50

This runs a worker and starts one workflow; in production the worker runs on its own (see `worker()`), and the
workflow survives the worker, the bridge or Countersign being restarted while it waits.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from countersign_client import Countersign
    from countersign_client import temporal as cs_temporal

TASK_QUEUE = os.environ.get("REFUND_TASK_QUEUE", "refunds")


@activity.defn
async def refund(order_id: str, amount: float) -> str:
    return f"refunded {amount} EUR on {order_id}"  # your real side effect goes here


@workflow.defn
class RefundFlow:
    @workflow.run
    async def run(self, order_id: str, amount: float) -> str:
        decision = await cs_temporal.approval(
            action="refund", title=f"Refund {amount} EUR on order {order_id}",
            body={"order_id": order_id, "amount": amount}, timeout=timedelta(hours=1))
        if not decision.approved:
            return f"not refunded ({decision.status}): {decision.reason}"
        edited = decision.final_body  # the reviewer may have changed the amount
        return await workflow.execute_activity(refund, args=[edited["order_id"], float(edited["amount"])],
                                               start_to_close_timeout=timedelta(minutes=1))


def worker(client: Client, cs: Countersign) -> Worker:
    return Worker(client, task_queue=TASK_QUEUE, workflows=[RefundFlow],
                  activities=[refund, *cs_temporal.activities(cs)])


async def main(order_id: str, amount: float) -> None:
    client = await Client.connect(os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"))
    with Countersign() as cs:  # COUNTERSIGN_URL and COUNTERSIGN_API_KEY
        async with worker(client, cs):
            result = await client.execute_workflow(RefundFlow.run, args=[order_id, amount],
                                                   id=f"refund-{order_id}-{uuid.uuid4().hex[:8]}",
                                                   task_queue=TASK_QUEUE)
    print(result)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
    # The Temporal SDK's Rust threads can outlive the interpreter's shutdown and abort it on the way out
    # (temporalio/sdk-python#300): the work is done and printed, so leave without the teardown.
    sys.stdout.flush()
    os._exit(0)
