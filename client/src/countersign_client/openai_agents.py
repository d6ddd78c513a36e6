"""OpenAI Agents SDK: a paused run's `interruptions` become drafts; the `RunState` comes back with each call
approved, or rejected with the reviewer's reason, ready for `Runner.run(agent, state)`.

    @function_tool(needs_approval=True)
    def refund(order_id: str, amount: float) -> str: ...

    result = await Runner.run(agent, "Refund order A-1")
    while result.interruptions:
        state = await countersign_client.openai_agents.aresolve(acs, result, timeout=3600)
        result = await Runner.run(agent, state)

`resolve` also takes a `RunState` restored from storage (`await RunState.from_string(agent, saved)`), so a
process can stop while a person decides and resume later.

Edits: the SDK runs an approved call with the arguments the model gave and has no way to change them (a call id
must keep its payload). So an edited draft rejects the call and tells the model, in the rejection message, the
arguments the reviewer wants; the model's next call with those arguments comes back for approval as usual.
"""

from __future__ import annotations

import json
from typing import Any

try:
    from agents import RunState
    from agents.items import ToolApprovalItem
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError("this adapter needs: pip install 'countersign-client[openai-agents]'") from missing

from countersign_client._adapt import ToolCall, decide_all, payload_of, refusal
from countersign_client.types import Draft

__all__ = ["aresolve", "resolve", "edit_message"]


def _state_and_items(result: Any) -> tuple[RunState[Any], list[ToolApprovalItem]]:
    state = result if isinstance(result, RunState) else result.to_state()
    return state, list(state.get_interruptions())


def _tool_call(item: ToolApprovalItem) -> ToolCall:
    raw = item.arguments
    try:
        args = json.loads(raw) if raw else {}
    except ValueError:
        args = raw
    return ToolCall(item.qualified_name or item.name or "tool", args, item.call_id)


def edit_message(name: str, args: Any) -> str:
    """The rejection text for an edited call: the model should call again with exactly the reviewer's arguments."""
    return (f"The reviewer edited this call instead of approving it as proposed. Call `{name}` again with exactly "
            f"these arguments: {json.dumps(args, ensure_ascii=False)}")


def _apply(state: RunState[Any], items: list[ToolApprovalItem], drafts: list[Draft]) -> RunState[Any]:
    for item, draft in zip(items, drafts, strict=True):
        if draft.status == "edited":
            state.reject(item, rejection_message=edit_message(item.name or "tool", draft.final_body))
        elif draft.approved:
            state.approve(item)
        else:
            state.reject(item, rejection_message=refusal(draft))
    return state


def _payloads(items: list[ToolApprovalItem], context: dict[str, Any] | None,
              fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [payload_of(_tool_call(item), framework="openai-agents", context=context, fields=fields) for item in items]


def resolve(cs: Any, result: Any, *, timeout: float | None = None, context: dict[str, Any] | None = None,
            **fields: Any) -> RunState[Any]:
    """Blocking: one draft per interruption of `result` (a RunResult or a RunState); returns the decided state."""
    state, items = _state_and_items(result)
    drafts = cs._run(decide_all(cs._cfg, _payloads(items, context, fields), timeout))
    return _apply(state, items, drafts)


async def aresolve(acs: Any, result: Any, *, timeout: float | None = None, context: dict[str, Any] | None = None,
                   **fields: Any) -> RunState[Any]:
    """`resolve` for AsyncCountersign."""
    state, items = _state_and_items(result)
    drafts = await acs._run(decide_all(acs._cfg, _payloads(items, context, fields), timeout))
    return _apply(state, items, drafts)
