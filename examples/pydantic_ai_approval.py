"""Pydantic AI: a tool with requires_approval=True is decided by a person in Slack through Countersign.

    COUNTERSIGN_URL=... COUNTERSIGN_API_KEY=... python examples/pydantic_ai_approval.py [openai:gpt-4o-mini]

Without a model argument it runs offline on Pydantic AI's TestModel, which calls every tool.
"""

from __future__ import annotations

import sys

from countersign_client import Countersign
from countersign_client.pydantic_ai import resolve
from pydantic_ai import Agent, DeferredToolRequests
from pydantic_ai.models.test import TestModel

model = sys.argv[1] if len(sys.argv) > 1 else TestModel()
agent = Agent(model, output_type=[str, DeferredToolRequests], instructions="Refund order A-1001 (12.50 EUR).")


@agent.tool_plain(requires_approval=True)
def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} EUR on {order_id}"


if __name__ == "__main__":
    cs = Countersign()
    result = agent.run_sync("Please refund order A-1001.")
    while isinstance(result.output, DeferredToolRequests):
        decisions = resolve(cs, result.output, timeout=3600)  # blocks until a person decides in Slack
        result = agent.run_sync(message_history=result.all_messages(), deferred_tool_results=decisions)
    print(result.output)
