"""LangGraph: the interrupts of a paused graph become drafts; the answer is the `Command(resume=...)` to continue.

Three kinds of interrupt value are understood:

- your own `interrupt({"action": ..., "title": ..., "body": ..., "context": {...}})`: one draft; the graph
  resumes with the decision `{"status", "approved", "final_body", "reason", "decided_by", "draft_id"}`;
- LangChain's `HumanInTheLoopMiddleware` (batched): a `HITLRequest` whose `action_requests` each become a draft;
  the graph resumes with `{"decisions": [...]}`: `approve`, `edit` (with `edited_action` = the tool and the
  reviewer's arguments) or `reject` (with the reviewer's reason as `message`);
- the middleware's per-call `ToolApprovalRequest` (`type: "tool_approval"`): one draft, one decision.

Any other value becomes a draft with action `interrupt` and the value as its body.

    result = graph.invoke(inputs, config)
    while "__interrupt__" in result:
        result = graph.invoke(countersign_client.langgraph.resolve(cs, result, timeout=3600), config)
"""

from __future__ import annotations

from typing import Any

try:
    from langgraph.types import Command, Interrupt
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError("this adapter needs: pip install 'countersign-client[langgraph]'") from missing

from countersign_client._adapt import ToolCall, action_of, decide_all, edited_args, payload_of, refusal
from countersign_client.types import Draft

__all__ = ["aresolve", "interrupts_of", "resolve"]
FRAMEWORK = "langgraph"


def interrupts_of(result: Any) -> list[Interrupt]:
    """The pending interrupts of an invoke() result (dict with `__interrupt__`, or v2 output), a state
    snapshot, or a list of them."""
    if isinstance(result, dict):
        found = result.get("__interrupt__", [])
    elif isinstance(result, list | tuple):
        found = result
    else:
        found = getattr(result, "interrupts", None) or []
    if not found:
        raise ValueError("no pending interrupt in this result: nothing to resolve")
    return list(found)


class _Plan:
    """Which drafts an interrupt needs, and how their decisions become its resume value."""

    def __init__(self, interrupt: Interrupt, context: dict[str, Any] | None, fields: dict[str, Any]) -> None:
        self.interrupt, self.value = interrupt, interrupt.value
        value = self.value
        if isinstance(value, dict) and isinstance(value.get("action_requests"), list):
            self.kind = "batched"
            self.allowed = {c.get("action_name"): set(c.get("allowed_decisions") or [])
                            for c in value.get("review_configs") or []}
            self.calls = [ToolCall(str(r.get("name")), r.get("args") or {}, description=r.get("description"))
                          for r in value["action_requests"]]
        elif isinstance(value, dict) and value.get("type") == "tool_approval":
            self.kind = "per_call"
            allowed = _allowed_decisions(getattr(interrupt, "response_schema", None))
            self.allowed = {str(value.get("name")): allowed} if allowed else {}
            self.calls = [ToolCall(str(value.get("name")), value.get("args") or {}, value.get("tool_call_id"),
                                   value.get("description"))]
        else:
            self.kind, self.allowed, self.calls = "custom", {}, []
        ctx = {"interrupt_id": interrupt.id, **(context or {})}
        if self.kind == "custom":
            self.payloads = [_custom_payload(value, ctx, fields)]
        else:
            self.payloads = [payload_of(c, framework=FRAMEWORK, context=ctx, fields=fields) for c in self.calls]

    def resume(self, drafts: list[Draft]) -> Any:
        if self.kind == "custom":
            draft = drafts[0]
            return {"draft_id": draft.id, "status": draft.status, "approved": draft.approved,
                    "final_body": draft.effective_body if draft.approved else None, "reason": draft.reason,
                    "decided_by": draft.decided_by}
        decisions = [self._decision(call, draft) for call, draft in zip(self.calls, drafts, strict=True)]
        return decisions[0] if self.kind == "per_call" else {"decisions": decisions}

    def _decision(self, call: ToolCall, draft: Draft) -> dict[str, Any]:
        allowed = self.allowed.get(call.name)
        if draft.status == "edited":
            args = edited_args(draft)
            if args is not None and (allowed is None or "edit" in allowed):
                return {"type": "edit", "edited_action": {"name": call.name, "args": args}}
            return {"type": "reject", "message": "The reviewer changed the arguments, which this tool does not "
                                                 f"allow to be edited; wanted: {draft.final_body!r}"}
        if draft.approved:
            return {"type": "approve"}
        return {"type": "reject", "message": refusal(draft)}


def _allowed_decisions(schema: Any) -> set[str]:
    """The decision types a per-call interrupt's JSON Schema accepts (its discriminator, or each branch's
    `type` const); empty when the graph published no schema."""
    if not isinstance(schema, dict):
        return set()
    mapping = (schema.get("discriminator") or {}).get("mapping")
    if isinstance(mapping, dict):
        return set(mapping)
    branches = [schema, *(schema.get("$defs") or {}).values()]
    return {b["properties"]["type"]["const"] for b in branches if isinstance(b, dict)
            and isinstance((b.get("properties") or {}).get("type"), dict) and "const" in b["properties"]["type"]}


def _custom_payload(value: Any, context: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and "body" in value:
        action = action_of(str(value.get("action") or "interrupt"))
        title = str(value.get("title") or action)[:300]
        ctx = {"framework": FRAMEWORK, **(value.get("context") or {}), **context}
        extra = {k: value[k] for k in ("expires_in_s", "requested_by", "confidence", "metadata") if k in value}
        return {"action": action, "title": title, "body": value["body"], "context": ctx, **extra, **fields}
    return {"action": "interrupt", "title": str(value)[:300] or "interrupt", "body": value if value else str(value),
            "context": {"framework": FRAMEWORK, **context}, **fields}


def _plans(result: Any, context: dict[str, Any] | None, fields: dict[str, Any]) -> list[_Plan]:
    return [_Plan(i, context, fields) for i in interrupts_of(result)]


def _command(plans: list[_Plan], drafts: list[Draft]) -> Command[Any]:
    values, at = {}, 0
    for plan in plans:
        values[plan.interrupt.id] = plan.resume(drafts[at: at + len(plan.payloads)])
        at += len(plan.payloads)
    if len(values) == 1:
        return Command(resume=next(iter(values.values())))
    return Command(resume=values)


def resolve(cs: Any, result: Any, *, timeout: float | None = None, context: dict[str, Any] | None = None,
            **fields: Any) -> Command[Any]:
    """Blocking: a draft per interrupt (per action request for the middleware); the Command to resume with."""
    plans = _plans(result, context, fields)
    drafts = cs._run(decide_all(cs._cfg, [p for plan in plans for p in plan.payloads], timeout))
    return _command(plans, drafts)


async def aresolve(acs: Any, result: Any, *, timeout: float | None = None, context: dict[str, Any] | None = None,
                   **fields: Any) -> Command[Any]:
    """`resolve` for AsyncCountersign."""
    plans = _plans(result, context, fields)
    drafts = await acs._run(decide_all(acs._cfg, [p for plan in plans for p in plan.payloads], timeout))
    return _command(plans, drafts)
