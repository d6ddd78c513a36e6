"""LangGraph end to end: a graph's own interrupt() and LangChain's HumanInTheLoopMiddleware (batched and per call)
pause, become drafts, a person decides in Slack, and the graph resumes with the Command the adapter returns."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, TypedDict

import pytest
from countersign_client import Countersign
from countersign_client import langgraph as cs_langgraph
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from tests.client.conftest import Live


class Reply(TypedDict, total=False):
    topic: str
    reply: str
    sent: str | None
    reason: str | None


def reply_graph() -> Any:
    def write(state: Reply) -> Reply:
        return {"reply": f"Dear customer, about {state['topic']}: it ships Monday."}

    def review(state: Reply) -> Reply:
        decision = interrupt({"action": "send_reply", "title": f"Reply about {state['topic']}",
                              "body": state["reply"], "context": {"ticket": state["topic"]}})
        return {"sent": decision["final_body"] if decision["approved"] else None, "reason": decision["reason"]}

    graph = StateGraph(Reply)
    graph.add_node("write", write)
    graph.add_node("review", review)
    graph.add_edge(START, "write")
    graph.add_edge("write", "review")
    graph.add_edge("review", END)
    return graph.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("verdict", ["approve", "edit", "reject"])
def test_graph_interrupt_resumes_with_the_decision(live: Live, cs: Countersign, verdict: str) -> None:
    """interrupt({action, title, body}) -> a draft; the node receives status, approved, final_body and reason."""
    topic = f"ticket-{uuid.uuid4().hex[:8]}"
    graph, config = reply_graph(), {"configurable": {"thread_id": topic}}
    paused = graph.invoke({"topic": topic}, config)
    assert "__interrupt__" in paused and "sent" not in paused
    live.reviewer.decide_later(topic, verdict, text="Edited: it ships Tuesday.", reason="wrong date")
    done = graph.invoke(cs_langgraph.resolve(cs, paused, timeout=60), config)
    expected = {"approve": (paused["reply"], None), "edit": ("Edited: it ships Tuesday.", None),
                "reject": (None, "wrong date")}[verdict]
    assert (done["sent"], done["reason"]) == expected


class ToolCallingFake(GenericFakeChatModel):
    """LangChain's own fake chat model, with tools accepted (the scripted messages already carry the calls)."""

    def bind_tools(self, tools: Any, **kw: Any) -> Any:
        return self


def hitl_agent(order: str, ran: list[tuple[str, float]], mode: str, allowed: list[str] | None = None) -> Any:
    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append((order_id, amount))
        return f"refunded {amount} on {order_id}"

    model = ToolCallingFake(messages=iter([
        AIMessage(content="", tool_calls=[{"name": "refund", "args": {"order_id": order, "amount": 12.5},
                                           "id": "call_1", "type": "tool_call"}]),
        AIMessage(content="done"),
    ]))
    rule: Any = {"allowed_decisions": allowed} if allowed else True
    middleware = HumanInTheLoopMiddleware(interrupt_on={"refund": rule}, interrupt_mode=mode)
    return create_agent(model, tools=[refund], middleware=[middleware], checkpointer=InMemorySaver())


@pytest.mark.parametrize("mode", ["batched", "per_call"])
@pytest.mark.parametrize("verdict", ["approve", "edit", "reject"])
def test_human_in_the_loop_middleware_decisions(live: Live, cs: Countersign, verdict: str, mode: str) -> None:
    """Action requests -> drafts -> approve / edit (edited_action with the reviewer's args) / reject (reason)."""
    order = f"A-{uuid.uuid4().hex[:8]}"
    ran: list[tuple[str, float]] = []
    agent, config = hitl_agent(order, ran, mode), {"configurable": {"thread_id": order}}
    paused = agent.invoke({"messages": [{"role": "user", "content": "refund it"}]}, config)
    assert "__interrupt__" in paused and ran == []
    live.reviewer.decide_later(order, verdict, text=f'{{"order_id": "{order}", "amount": 5}}', reason="duplicate")
    command = cs_langgraph.resolve(cs, paused, timeout=60)
    done = agent.invoke(command, config)
    said = [m.content for m in done["messages"] if isinstance(m, ToolMessage)]
    if verdict == "approve":
        assert ran == [(order, 12.5)] and said == [f"refunded 12.5 on {order}"]
    elif verdict == "edit":
        decision = command.resume if mode == "per_call" else command.resume["decisions"][0]
        assert decision == {"type": "edit", "edited_action": {"name": "refund", "args": {"order_id": order,
                                                                                          "amount": 5}}}
        assert ran == [(order, 5)] and len(said) == 1 and str(said[0]).endswith(f"refunded 5.0 on {order}")
    else:
        assert ran == [] and len(said) == 1 and "duplicate" in str(said[0])


@pytest.mark.parametrize("mode", ["batched", "per_call"])
def test_an_edit_of_a_tool_that_allows_none_is_a_rejection_not_a_crash(live: Live, cs: Countersign,
                                                                        mode: str) -> None:
    """allowed_decisions without "edit": the reviewer's edit becomes a reject naming what they wanted."""
    order = f"C-{uuid.uuid4().hex[:8]}"
    ran: list[tuple[str, float]] = []
    agent = hitl_agent(order, ran, mode, allowed=["approve", "reject"])
    config = {"configurable": {"thread_id": order}}
    paused = agent.invoke({"messages": [{"role": "user", "content": "refund it"}]}, config)
    live.reviewer.decide_later(order, "edit", text=f'{{"order_id": "{order}", "amount": 1}}')
    command = cs_langgraph.resolve(cs, paused, timeout=60)
    decision = command.resume if mode == "per_call" else command.resume["decisions"][0]
    assert decision["type"] == "reject" and "does not allow" in decision["message"]
    done = agent.invoke(command, config)
    assert ran == [] and any(isinstance(m, ToolMessage) for m in done["messages"])


def test_langgraph_aresolve(live: Live, acs_factory: Any) -> None:
    """The async adapter resumes an async graph run."""
    topic = f"ticket-{uuid.uuid4().hex[:8]}"
    graph, config = reply_graph(), {"configurable": {"thread_id": topic}}

    async def main() -> Any:
        paused = await graph.ainvoke({"topic": topic}, config)
        async with acs_factory() as acs:
            command = await cs_langgraph.aresolve(acs, paused, timeout=60)
        return await graph.ainvoke(command, config)

    live.reviewer.decide_later(topic, "approve")
    assert asyncio.run(main())["sent"].startswith("Dear customer")
