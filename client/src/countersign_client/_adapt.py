"""What every framework adapter shares: a tool call becomes a draft (action = tool name, body = the arguments),
all of a turn's drafts are posted before any wait (so reviewers see them together), and one deadline covers
the waits. A draft still pending at the deadline is withdrawn and reported as not approved."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from countersign_client._core import Config, Flow, call
from countersign_client._flows import draft_path, wait_flow
from countersign_client.errors import Conflict, CountersignError
from countersign_client.types import Draft

TITLE_MAX = 300


@dataclass
class ToolCall:
    """One call awaiting a decision, in the framework's terms."""

    name: str
    args: Any
    call_id: str | None = None
    description: str | None = None


def action_of(tool_name: str) -> str:
    """A tool name as a Countersign action slug: lower case, anything else as `_`, at most 63 characters."""
    slug = re.sub(r"[^a-z0-9_-]+", "_", tool_name.lower()).strip("_-") or "tool"
    return slug[:63]


def title_of(call: ToolCall) -> str:
    shown = json.dumps(call.args, ensure_ascii=False, default=str)
    title = f"{call.name}({shown[1:-1] if shown.startswith('{') else shown})"
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def payload_of(call: ToolCall, *, framework: str, context: dict[str, Any] | None,
               fields: dict[str, Any]) -> dict[str, Any]:
    body = call.args if call.args not in (None, "", {}) else {"arguments": call.args}
    ctx = {"framework": framework, "tool": call.name, **({"tool_call_id": call.call_id} if call.call_id else {}),
           **(context or {})}
    payload: dict[str, Any] = {"action": action_of(call.name), "title": title_of(call), "body": body,
                               "context": ctx, **fields}
    if call.description:
        payload["metadata"] = {"description": call.description[:2000], **payload.get("metadata", {})}
    return payload


def decide_all(cfg: Config, payloads: list[dict[str, Any]], timeout: float | None) -> Flow[list[Draft]]:
    """Post every draft, then wait for each within one shared deadline; withdraw what is still pending."""
    drafts: list[Draft] = []
    try:
        for payload in payloads:
            drafts.append((yield from call(cfg, "POST", "/v1/drafts", Draft.from_dict, json_body=payload)))
    except CountersignError:
        # One call of the turn could not be asked about, so none of them will run: withdraw the drafts already
        # posted, so nobody spends time deciding them.
        for draft in drafts:
            if draft.pending:
                try:
                    yield from call(cfg, "POST", draft_path(draft.id, "/cancel"), Draft.from_dict,
                                    json_body={"reason": "another call of the same turn could not be submitted"})
                except CountersignError:
                    pass  # best effort: the draft expires on its own
        raise
    deadline = None if timeout is None else time.monotonic() + timeout
    decided: list[Draft] = []
    for draft in drafts:
        if draft.pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            draft = yield from wait_flow(cfg, draft.id, left)
        if draft.pending:
            try:
                draft = yield from call(cfg, "POST", draft_path(draft.id, "/cancel"), Draft.from_dict,
                                        json_body={"reason": f"not decided within {timeout:g}s"})
            except Conflict:  # decided just now: that decision stands
                draft = yield from call(cfg, "GET", draft_path(draft.id), Draft.from_dict)
        decided.append(draft)
    return decided


def refusal(draft: Draft) -> str:
    """What the model is told when a call must not run."""
    who = ", ".join(draft.decided_by) if draft.decided_by else None
    if draft.status == "rejected":
        return f"Rejected by the reviewer{f' ({who})' if who else ''}: {draft.reason or 'no reason given'}"
    if draft.status == "expired":
        return f"Not approved: {draft.reason or 'expired without a decision; do not retry'}"
    return f"Not approved ({draft.status}): {draft.reason or 'no decision'}; do not retry"


def edited_args(draft: Draft) -> dict[str, Any] | None:
    """The reviewer's arguments for an edited call, when the edit is a JSON object (else None)."""
    if draft.status != "edited":
        return None
    value = draft.final_body
    return value if isinstance(value, dict) else None
