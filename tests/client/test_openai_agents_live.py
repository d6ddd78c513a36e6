"""OpenAI Agents SDK end to end, no network: a scripted Model makes a real tool call to a `needs_approval` tool,
the run pauses, the state is stored and restored, a person decides in Slack, and the resumed run continues."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, Model, ModelResponse, Runner, RunState, Usage, function_tool, set_tracing_disabled
from countersign_client import Countersign
from countersign_client import openai_agents as cs_agents
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from tests.client.conftest import Live

set_tracing_disabled(True)  # nothing leaves the machine


def _outputs(items: Any) -> list[str]:
    return [str(i.get("output")) for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]


class ScriptedModel(Model):
    """Calls `refund` with the given arguments; after a tool output, calls again with the arguments a reviewer's
    edit asked for (as a compliant model would), or says what the tool answered."""

    def __init__(self, args: dict[str, Any]) -> None:
        self.args, self.calls = args, 0

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any, tools: Any,
                           output_schema: Any, handoffs: Any, tracing: Any, **kw: Any) -> ModelResponse:
        self.calls += 1
        outputs = _outputs(input if isinstance(input, list) else [])
        if not outputs:
            return self._call(self.args)
        last = outputs[-1]
        if "exactly these arguments: " in last and len(outputs) == 1:
            return self._call(json.loads(last.split("exactly these arguments: ", 1)[1]))
        message = ResponseOutputMessage(id=f"msg_{self.calls}", role="assistant", status="completed", type="message",
                                        content=[ResponseOutputText(text=f"tool said: {last}", type="output_text",
                                                                    annotations=[])])
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def _call(self, args: dict[str, Any]) -> ModelResponse:
        call = ResponseFunctionToolCall(id=f"fc_{self.calls}", call_id=f"call_{self.calls}", name="refund",
                                        arguments=json.dumps(args), type="function_call", status="completed")
        return ModelResponse(output=[call], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kw: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("not streamed in these tests")


def build(order: str, ran: list[tuple[str, float]]) -> Agent[Any]:
    @function_tool(needs_approval=True)
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append((order_id, amount))
        return f"refunded {amount} on {order_id}"

    return Agent(name="support", instructions="Refund when asked.", tools=[refund],
                 model=ScriptedModel({"order_id": order, "amount": 12.5}))


@pytest.mark.parametrize("verdict", ["approve", "reject", "edit"])
def test_openai_agents_interruptions_through_slack(live: Live, cs: Countersign, verdict: str) -> None:
    """Approve runs the tool; Reject gives the model the reason; Edit sends the edited arguments back to the model,
    whose new call (with them) is approved in turn and runs."""
    order = f"A-{uuid.uuid4().hex[:8]}"
    ran: list[tuple[str, float]] = []
    agent = build(order, ran)

    async def main() -> str:
        result = await Runner.run(agent, "Refund the order")
        assert [i.name for i in result.interruptions] == ["refund"] and ran == []
        saved = result.to_state().to_string()  # the process could stop here while a person decides
        state = await RunState.from_string(agent, saved)
        state = await asyncio.to_thread(cs_agents.resolve, cs, state, timeout=60)
        result = await Runner.run(agent, state)
        if verdict == "edit":
            assert [json.loads(i.arguments or "{}") for i in result.interruptions] == [{"order_id": order,
                                                                                        "amount": 5}]
            # The new draft's card: its title holds the edited arguments (the first card's says 12.5).
            live.reviewer.decide_later(f'{order}\\", \\"amount\\": 5)', "approve")
            result = await Runner.run(agent, await asyncio.to_thread(cs_agents.resolve, cs, result, timeout=60))
        return str(result.final_output)

    live.reviewer.decide_later(order, verdict, text=f'{{"order_id": "{order}", "amount": 5}}', reason="duplicate")
    said = asyncio.run(main())
    if verdict == "approve":
        assert ran == [(order, 12.5)] and said == f"tool said: refunded 12.5 on {order}"
    elif verdict == "reject":
        assert ran == [] and "duplicate" in said
    else:
        assert ran == [(order, 5)] and said == f"tool said: refunded 5.0 on {order}"


def test_openai_agents_aresolve(live: Live, acs_factory: Any) -> None:
    """The async adapter approves straight from a RunResult."""
    order = f"B-{uuid.uuid4().hex[:8]}"
    ran: list[tuple[str, float]] = []
    agent = build(order, ran)

    async def main() -> str:
        result = await Runner.run(agent, "Refund the order")
        async with acs_factory() as acs:
            state = await cs_agents.aresolve(acs, result, timeout=60)
        return str((await Runner.run(agent, state)).final_output)

    live.reviewer.decide_later(order, "approve")
    assert asyncio.run(main()) == f"tool said: refunded 12.5 on {order}" and ran == [(order, 12.5)]
