"""LangGraph: a node asks for approval with interrupt(); Countersign turns it into a Slack card and hands the
decision back as Command(resume=...). (HumanInTheLoopMiddleware's interrupts are resolved the same way.)

    COUNTERSIGN_URL=... COUNTERSIGN_API_KEY=... python examples/langgraph_approval.py
"""

from __future__ import annotations

from typing import TypedDict

from countersign_client import Countersign
from countersign_client.langgraph import resolve
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    reply: str
    sent: str | None


def write(state: State) -> State:
    return {"reply": "Hello Ada, your order A-1001 ships on Monday."}


def review(state: State) -> State:
    decision = interrupt({"action": "send_reply", "title": "Reply to Ada about A-1001", "body": state["reply"]})
    return {"sent": decision["final_body"] if decision["approved"] else None}


graph = StateGraph(State)
graph.add_node("write", write)
graph.add_node("review", review)
graph.add_edge(START, "write")
graph.add_edge("write", "review")
graph.add_edge("review", END)
app = graph.compile(checkpointer=InMemorySaver())

if __name__ == "__main__":
    cs, config = Countersign(), {"configurable": {"thread_id": "ticket-1001"}}
    result = app.invoke({}, config)
    while "__interrupt__" in result:
        result = app.invoke(resolve(cs, result, timeout=3600), config)  # blocks until a person decides
    print("sent:", result["sent"])
