"""OpenAI Agents SDK: a tool with needs_approval=True pauses the run; Countersign asks a person in Slack and the
run resumes from its RunState with the call approved, or rejected with the reviewer's reason.

    COUNTERSIGN_URL=... COUNTERSIGN_API_KEY=... OPENAI_API_KEY=... python examples/openai_agents_approval.py

Without OPENAI_API_KEY it runs offline on a scripted stand-in model that calls the tool once.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from agents import Agent, Model, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
from countersign_client import AsyncCountersign
from countersign_client.openai_agents import aresolve
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText


@function_tool(needs_approval=True)
def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} EUR on {order_id}"


class OfflineModel(Model):
    """Calls refund once, then repeats what the tool (or the reviewer) said. Only for running without a key."""

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kw: Any) -> ModelResponse:
        said = [i.get("output") for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if said:
            text = ResponseOutputText(text=str(said[-1]), type="output_text", annotations=[])
            out: Any = ResponseOutputMessage(id="msg_1", role="assistant", status="completed", type="message",
                                             content=[text])
        else:
            out = ResponseFunctionToolCall(id="fc_1", call_id="call_1", name="refund", type="function_call",
                                           arguments='{"order_id": "A-1001", "amount": 12.5}', status="completed")
        return ModelResponse(output=[out], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kw: Any) -> Any:
        raise NotImplementedError


async def main() -> None:
    if not os.environ.get("OPENAI_API_KEY"):
        set_tracing_disabled(True)
    model = None if os.environ.get("OPENAI_API_KEY") else OfflineModel()
    agent = Agent(name="support", instructions="Refund orders when asked.", tools=[refund],
                  **({"model": model} if model else {}))
    async with AsyncCountersign() as cs:
        result = await Runner.run(agent, "Refund order A-1001, 12.50 EUR.")
        while result.interruptions:
            state = await aresolve(cs, result, timeout=3600)  # waits for a person in Slack
            result = await Runner.run(agent, state)
    print(result.final_output)


if __name__ == "__main__":
    asyncio.run(main())
