"""DBOS: a person's approval inside a `@DBOS.workflow()`, delivered with `DBOS.send`.

    @DBOS.workflow()
    def refund(order: str) -> str:
        return cs_dbos.approval(cs, action="refund", title=f"Refund {order}", body="…", timeout_s=3600).status

    app.mount("/countersign", cs_dbos.Bridge(secret))   # in the DBOS application's process

A step creates the draft (its Idempotency-Key is the workflow id and the step id, so a step retried or recovered
after a crash finds the same draft) with `metadata.dbos` naming the workflow. The workflow waits with
`DBOS.recv` on the topic `countersign.decision`; the bridge `DBOS.send`s each decision with the callback's
`webhook-id` as the idempotency key, so a callback delivered twice, or to two bridges on one system database,
is one message. Both waits and sends are checkpointed in the system database: a decision sent while the
workflow's process was down is there for it when DBOS recovers the workflow.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

try:
    from dbos import DBOS
    from dbos import error as dbos_errors
    from sqlalchemy.exc import SQLAlchemyError
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError("this integration needs: pip install 'countersign-client[dbos]'") from missing

from countersign_client._durable import TOPIC, CallbackReceiver, Decision, RetryLater, is_final
from countersign_client.errors import AgentPaused, APIConnectionError, Conflict, RateLimited, ServerError

__all__ = ["TOPIC", "Bridge", "Decision", "approval", "create_draft", "wait_for_decision"]
_RETRYABLE = (APIConnectionError, ServerError, RateLimited, AgentPaused)
_STEP = {"retries_allowed": True, "max_attempts": 8, "interval_seconds": 1.0, "backoff_rate": 2.0,
         "should_retry": lambda exc: isinstance(exc, _RETRYABLE)}
_FOREVER_S = 24 * 3600.0  # one recv's wait when the workflow sets no timeout (it waits again after)


def _create(cs: Any, request: dict[str, Any]) -> dict[str, Any]:
    workflow_id = str(DBOS.workflow_id)
    fields = dict(request)
    fields["metadata"] = {**(fields.get("metadata") or {}), "dbos": {"workflow_id": workflow_id}}
    draft = cs.drafts.create(**fields, idempotency_key=f"dbos:{workflow_id}:{DBOS.step_id}"[:255])
    return dict(draft.raw)


def _withdraw(cs: Any, draft_id: str, reason: str) -> dict[str, Any]:
    try:
        return dict(cs.drafts.cancel(draft_id, reason=reason).raw)
    except Conflict:  # decided meanwhile: that decision is the answer
        return dict(cs.drafts.get(draft_id).raw)


def create_draft(cs: Any, *, action: str, title: str, body: Any, context: dict[str, Any] | None = None,
                 **fields: Any) -> dict[str, Any]:
    """In a workflow: create the draft in a checkpointed step; returns the draft as the API shows it. `cs` is a
    blocking `Countersign` client. Extra fields (expires_in_s, cost_usd, model, metadata, ...) go to the draft."""
    request = {k: v for k, v in {"action": action, "title": title, "body": body, "context": context,
                                 **fields}.items() if v is not None}
    result: dict[str, Any] = DBOS.run_step({"name": "countersign.create_draft", **_STEP},  # type: ignore[typeddict-item]
                                           _create, cs, request)
    return result


def wait_for_decision(draft_id: str, *, timeout_s: float | None = None, cs: Any = None) -> Decision:
    """In a workflow: wait for the draft's decision. After `timeout_s` (None: until the draft is decided or
    expires on the server) an `expired` Decision; with `cs`, the draft is also withdrawn, and a decision made
    meanwhile is returned instead."""
    started = DBOS.run_step({"name": "countersign.clock"}, time.time)
    deadline = None if timeout_s is None else started + timeout_s
    while True:
        left = _FOREVER_S if deadline is None else max(0.0, deadline - DBOS.run_step({"name": "countersign.clock"},
                                                                                      time.time))
        message = DBOS.recv(TOPIC, timeout_seconds=left) if left > 0 else None
        if isinstance(message, Mapping) and Decision.from_data(message).draft_id == draft_id:
            return Decision.from_data(message)
        if message is None and deadline is not None:
            break  # a message for another draft (an earlier approval's late decision) is skipped
    reason = f"no decision within {timeout_s:g}s: the workflow stopped waiting"
    if cs is not None:
        draft = DBOS.run_step({"name": "countersign.cancel_draft", **_STEP},  # type: ignore[typeddict-item]
                              _withdraw, cs, draft_id, reason)
        if draft.get("status") not in ("pending", "cancelled"):
            return Decision.from_data(draft)
    return Decision.expired(draft_id, reason)


def approval(cs: Any, *, action: str, title: str, body: Any, context: dict[str, Any] | None = None,
             timeout_s: float | None = None, raise_unless_approved: bool = False, **fields: Any) -> Decision:
    """In a `@DBOS.workflow()`: create the draft and wait for its decision. With `raise_unless_approved`, a
    rejection raises the client's `Rejected` and a timeout or expiry `Expired`."""
    draft = create_draft(cs, action=action, title=title, body=body, context=context, **fields)
    if is_final(draft):  # decided at once (the action's autonomy): nothing to wait for
        decision = Decision.from_data(draft)
    else:
        decision = wait_for_decision(str(draft["id"]), timeout_s=timeout_s, cs=cs)
    return decision.raise_unless_approved() if raise_unless_approved else decision


class Bridge(CallbackReceiver):
    """ASGI app for the DBOS application's process: each verified `draft.decided` callback becomes a
    `DBOS.send` to the workflow named in the draft's `metadata.dbos`, idempotent by `webhook-id`."""

    def __init__(self, secret: str | Sequence[str]) -> None:
        super().__init__(secret, "dbos", self._send)

    async def _send(self, webhook_id: str, decision: Decision, target: Mapping[str, Any]) -> str:
        workflow_id = target.get("workflow_id")
        if not workflow_id:
            return "metadata.dbos names no workflow_id: nothing to send"
        try:
            await DBOS.send_async(str(workflow_id), decision.to_dict(), TOPIC,
                                  idempotency_key=f"countersign:{webhook_id or decision.draft_id}")
        except dbos_errors.DBOSNonExistentWorkflowError:
            return f"no workflow {workflow_id} in this application's database: nothing to send"
        except (dbos_errors.DBOSException, SQLAlchemyError, OSError) as exc:  # DBOS or its database not ready
            raise RetryLater(f"DBOS could not take the decision: {type(exc).__name__}: {exc}") from exc
        return f"sent to workflow {workflow_id}"
