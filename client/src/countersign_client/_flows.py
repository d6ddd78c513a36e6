"""Multi-step flows over the sans-I/O core: long-polls and the approval checkpoint (see _core)."""

from __future__ import annotations

import time
from typing import Any

from countersign_client import _core
from countersign_client._core import Config, Flow, call
from countersign_client.errors import Conflict
from countersign_client.types import Draft


def draft_path(draft_id: str, suffix: str = "") -> str:
    if not draft_id or "/" in draft_id:
        raise ValueError(f"not a draft id: {draft_id!r}")
    return f"/v1/drafts/{draft_id}{suffix}"


def wait_flow(cfg: Config, draft_id: str, timeout: float | None) -> Flow[Draft]:
    """Long-poll in slices of at most 60 s (the server's limit) until decided or `timeout` (None: until the draft
    is decided or expires on the server)."""
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        remaining = _core.MAX_WAIT_SLICE_S if deadline is None else deadline - time.monotonic()
        wait = round(min(_core.MAX_WAIT_SLICE_S, max(0.0, remaining)), 3)
        draft = yield from call(cfg, "GET", draft_path(draft_id), Draft.from_dict, params={"wait": wait},
                                timeout=wait + cfg.timeout)
        if not draft.pending or (deadline is not None and time.monotonic() >= deadline):
            return draft


def checkpoint_flow(cfg: Config, payload: dict[str, Any], timeout: float | None,
                    idempotency_key: str | None) -> Flow[tuple[Draft, bool]]:
    """Create, wait, and when the caller's timeout passes first, withdraw the draft so a late approval cannot
    count; if someone decided in the meantime (409), that decision is the answer. Returns (draft, timed_out)."""
    draft = yield from call(cfg, "POST", "/v1/drafts", Draft.from_dict, json_body=payload,
                            idempotency_key=idempotency_key)
    if draft.pending:
        draft = yield from wait_flow(cfg, draft.id, timeout)
    if not draft.pending:
        return draft, False
    try:
        draft = yield from call(cfg, "POST", draft_path(draft.id, "/cancel"), Draft.from_dict,
                                json_body={"reason": f"the agent stopped waiting after {timeout:g}s"})
        return draft, True
    except Conflict:
        draft = yield from call(cfg, "GET", draft_path(draft.id), Draft.from_dict)
        return draft, False


def create_and_wait(cfg: Config, payload: dict[str, Any], timeout: float | None,
                    idempotency_key: str | None) -> Flow[Draft]:
    draft = yield from call(cfg, "POST", "/v1/drafts", Draft.from_dict, json_body=payload,
                            idempotency_key=idempotency_key)
    if draft.pending:
        draft = yield from wait_flow(cfg, draft.id, timeout)
    return draft
