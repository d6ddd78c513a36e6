"""Pydantic AI end to end: a FunctionModel calls a tool that requires approval, the run ends with
DeferredToolRequests, a person decides in Slack, and the resumed run sees the tool run (or the denial)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from countersign_client import Countersign
from countersign_client import pydantic_ai as cs_pydantic_ai
from pydantic_ai import Agent, DeferredToolRequests, ToolApproved, ToolDenied
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tests.client.conftest import Live


def build(order_id: str, ran: list[tuple[str, float]]) -> Agent[None, str | DeferredToolRequests]:
    """An agent whose model asks to refund `order_id`, then reports what the tool (or the reviewer) said."""
    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        returns = [p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]
        retries = [p for m in messages for p in getattr(m, "parts", []) if p.part_kind == "retry-prompt"]
        if returns or retries:
            said = returns[-1].content if returns else retries[-1].content
            return ModelResponse(parts=[TextPart(f"tool said: {said}")])
        return ModelResponse(parts=[ToolCallPart("refund", {"order_id": order_id, "amount": 12.5},
                                                 tool_call_id="call_refund_1")])

    agent = Agent(FunctionModel(model), output_type=[str, DeferredToolRequests])

    @agent.tool_plain(requires_approval=True)
    def refund(order_id: str, amount: float) -> str:
        ran.append((order_id, amount))
        return f"refunded {amount} on {order_id}"

    return agent


@pytest.mark.parametrize("verdict", ["approve", "edit", "reject"])
def test_pydantic_ai_deferred_approvals_through_slack(live: Live, cs: Countersign, verdict: str) -> None:
    """Approve runs the tool as asked, Edit runs it with the reviewer's arguments, Reject tells the model why."""
    order = f"A-{uuid.uuid4().hex[:8]}"
    ran: list[tuple[str, float]] = []
    agent = build(order, ran)
    first = agent.run_sync("Refund the order")
    assert isinstance(first.output, DeferredToolRequests) and ran == []
    decision = live.reviewer.decide_later(order, verdict, text=f'{{"order_id": "{order}", "amount": 5}}',
                                          reason="customer already refunded")
    results = cs_pydantic_ai.resolve(cs, first.output, timeout=60)
    decision.result(timeout=30)
    approval = results.approvals["call_refund_1"]
    second = agent.run_sync(message_history=first.all_messages(), deferred_tool_results=results)
    if verdict == "approve":
        assert approval == ToolApproved() and ran == [(order, 12.5)]
        assert second.output == f"tool said: refunded 12.5 on {order}"
    elif verdict == "edit":
        assert isinstance(approval, ToolApproved) and approval.override_args == {"order_id": order, "amount": 5}
        assert ran == [(order, 5)] and second.output == f"tool said: refunded 5.0 on {order}"
    else:
        assert isinstance(approval, ToolDenied) and "customer already refunded" in approval.message
        assert ran == [] and "customer already refunded" in str(second.output)


def test_pydantic_ai_aresolve(live: Live, acs_factory: Any) -> None:
    """The async adapter with AsyncCountersign gives the same results."""
    order = f"B-{uuid.uuid4().hex[:8]}"
    ran: list[tuple[str, float]] = []
    agent = build(order, ran)

    async def main() -> str:
        first = await agent.run("Refund the order")
        assert isinstance(first.output, DeferredToolRequests)
        async with acs_factory() as acs:
            results = await cs_pydantic_ai.aresolve(acs, first.output, timeout=60)
        second = await agent.run(message_history=first.all_messages(), deferred_tool_results=results)
        return str(second.output)

    live.reviewer.decide_later(order, "approve")
    assert asyncio.run(main()) == f"tool said: refunded 12.5 on {order}" and ran == [(order, 12.5)]
