"""Pydantic AI: `DeferredToolRequests` in, `DeferredToolResults` out.

    agent = Agent(model, output_type=[str, DeferredToolRequests])
    @agent.tool_plain(requires_approval=True)
    def refund(order_id: str, amount: float) -> str: ...

    result = agent.run_sync("Refund order A-1")
    if isinstance(result.output, DeferredToolRequests):
        results = countersign_client.pydantic_ai.resolve(cs, result.output, timeout=3600)
        result = agent.run_sync(message_history=result.all_messages(), deferred_tool_results=results)

Approve is `ToolApproved()`, an edit `ToolApproved(override_args=<the reviewer's arguments>)`, a rejection
`ToolDenied(<the reviewer's reason>)`. Calls in `requests.calls` (external execution) are not approvals and are
left for the caller.
"""

from __future__ import annotations

from typing import Any

try:
    from pydantic_ai import DeferredToolRequests, DeferredToolResults, ToolApproved, ToolDenied
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError("this adapter needs: pip install 'countersign-client[pydantic-ai]'") from missing

from countersign_client._adapt import ToolCall, decide_all, edited_args, payload_of, refusal
from countersign_client.types import Draft

__all__ = ["aresolve", "resolve"]


def _payloads(requests: DeferredToolRequests, context: dict[str, Any] | None,
              fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [payload_of(ToolCall(part.tool_name, part.args_as_dict(), part.tool_call_id), framework="pydantic-ai",
                       context={**(requests.metadata.get(part.tool_call_id) or {}), **(context or {})},
                       fields=fields)
            for part in requests.approvals]


def _results(requests: DeferredToolRequests, drafts: list[Draft]) -> DeferredToolResults:
    approvals: dict[str, ToolApproved | ToolDenied] = {}
    answered_by: dict[str, str] = {}
    for part, draft in zip(requests.approvals, drafts, strict=True):
        if draft.approved:
            edited = edited_args(draft)
            if draft.status == "edited" and edited is None:
                approvals[part.tool_call_id] = ToolDenied("The reviewer's edit is not a JSON object of arguments; "
                                                          "the call was not run.")
            else:
                approvals[part.tool_call_id] = ToolApproved(override_args=edited)
        else:
            approvals[part.tool_call_id] = ToolDenied(refusal(draft))
        if draft.decided_by:
            answered_by[part.tool_call_id] = ",".join(draft.decided_by)
    return DeferredToolResults(approvals=approvals, answered_by=answered_by,
                               metadata={p.tool_call_id: {"countersign_draft_id": d.id}
                                         for p, d in zip(requests.approvals, drafts, strict=True)})


def resolve(cs: Any, requests: DeferredToolRequests, *, timeout: float | None = None,
            context: dict[str, Any] | None = None, **fields: Any) -> DeferredToolResults:
    """Ask Countersign about every call in `requests.approvals` and wait (blocking) for the decisions."""
    drafts = cs._run(decide_all(cs._cfg, _payloads(requests, context, fields), timeout))
    return _results(requests, drafts)


async def aresolve(acs: Any, requests: DeferredToolRequests, *, timeout: float | None = None,
                   context: dict[str, Any] | None = None, **fields: Any) -> DeferredToolResults:
    """`resolve` for AsyncCountersign."""
    drafts = await acs._run(decide_all(acs._cfg, _payloads(requests, context, fields), timeout))
    return _results(requests, drafts)
