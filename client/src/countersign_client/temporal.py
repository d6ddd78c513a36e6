"""Temporal: a person's approval inside a workflow, delivered by signal.

    @workflow.defn
    class RefundFlow:
        @workflow.run
        async def run(self, order: str) -> str:
            d = await cs_temporal.approval(action="refund", title=f"Refund {order}", body="Refund $40",
                                           timeout=timedelta(hours=1))
            return d.status

    Worker(client, task_queue="refunds", workflows=[RefundFlow], activities=cs_temporal.activities(Countersign()))
    # and beside it: countersign-temporal-bridge --temporal HOST:PORT --secret whsec_… --port 8787

An activity creates the draft (its Idempotency-Key comes from the workflow's and the activity's ids, so a retried
activity whose first answer was lost finds the same draft) with `metadata.temporal` naming the workflow. The
decision comes back as the signal `countersign.decision`, sent by the `Bridge` when Countersign calls back; the
workflow keeps every decision it is sent by draft id, so one sent before it starts waiting is not missed, and one
sent twice counts once. Waiting is a Temporal condition (deterministic, replay-safe, no polling).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

try:
    from temporalio import activity, workflow
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ActivityError, ApplicationError
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError("this integration needs: pip install 'countersign-client[temporal]'") from missing

with workflow.unsafe.imports_passed_through():
    from countersign_client._durable import TOPIC, Decision, is_final
    from countersign_client._temporal_bridge import Bridge
    from countersign_client.errors import (
        AgentPaused,
        APIConnectionError,
        Conflict,
        CountersignError,
        RateLimited,
        ServerError,
    )

__all__ = ["CANCEL_ACTIVITY", "CREATE_ACTIVITY", "SIGNAL", "Bridge", "Decision", "activities", "approval",
           "create_draft", "wait_for_decision"]
SIGNAL = TOPIC
CREATE_ACTIVITY = "countersign.create_draft"
CANCEL_ACTIVITY = "countersign.cancel_draft"
_ACTIVITY_TIMEOUT = timedelta(seconds=60)
_WITHDRAW_FOR = timedelta(minutes=5)  # after its timeout, how long a workflow tries to withdraw its draft
# Worth another attempt: the server or the network is down, we are over the rate, or the agent is paused.
_RETRYABLE = (APIConnectionError, ServerError, RateLimited, AgentPaused)


# -- in the worker: the activities ------------------------------------------------------------------------------

def activities(cs: Any) -> list[Callable[..., Any]]:
    """The activities to register on the Worker, bound to a `Countersign` or `AsyncCountersign` client."""

    async def run(method: Callable[..., Any], **kw: Any) -> Any:
        try:
            result = method(**kw)
            return await result if asyncio.iscoroutine(result) else result
        except _RETRYABLE:
            raise  # Temporal retries the activity with its retry policy
        except CountersignError as exc:  # refused as asked (422, 403, ...): retrying cannot change the answer
            raise ApplicationError(str(exc), {"status": exc.status, "type": exc.type, "errors": exc.errors},
                                   type=type(exc).__name__, non_retryable=True) from exc
        except (TypeError, ValueError) as exc:  # a field the client does not take: the same on every attempt
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc

    @activity.defn(name=CREATE_ACTIVITY)
    async def create_draft_activity(request: dict[str, Any]) -> dict[str, Any]:
        info = activity.info()
        namespace = info.workflow_namespace or info.namespace
        fields = dict(request)
        fields["metadata"] = {**(fields.get("metadata") or {}),
                              "temporal": {"namespace": namespace, "workflow_id": info.workflow_id}}
        key = idempotency_key(namespace, info.workflow_id or "", info.workflow_run_id or "", info.activity_id)
        create = cs.drafts.create
        draft = await run(_threaded(create), **fields, idempotency_key=key)
        return dict(draft.raw)

    @activity.defn(name=CANCEL_ACTIVITY)
    async def cancel_draft_activity(draft_id: str, reason: str) -> dict[str, Any]:
        """Withdraw the draft; if someone decided it meanwhile, that decision is the answer."""
        try:
            draft = await run(_threaded(cs.drafts.cancel), draft_id=draft_id, reason=reason)
        except ApplicationError as exc:
            if exc.type != Conflict.__name__:
                raise
            draft = await run(_threaded(cs.drafts.get), draft_id=draft_id)
        return dict(draft.raw)

    return [create_draft_activity, cancel_draft_activity]


def idempotency_key(namespace: str, workflow_id: str, run_id: str, activity_id: str) -> str:
    """The same for every attempt of one activity, different for each run (a new run of a reused workflow id
    asks again). Long ids are hashed to stay within the server's 255 characters."""
    key = f"temporal:{namespace}:{workflow_id}:{run_id}:{activity_id}"
    return key if len(key) <= 255 else "temporal:" + hashlib.sha256(key.encode()).hexdigest()


def _threaded(method: Callable[..., Any]) -> Callable[..., Any]:
    """A blocking client's method runs in a thread, so the worker's event loop keeps running other tasks."""
    if asyncio.iscoroutinefunction(method):
        return method
    return lambda **kw: asyncio.to_thread(method, **kw)


# -- in the workflow: create, wait, or both ----------------------------------------------------------------------

class _Inbox:
    """Every decision signalled to this workflow run, by draft id; the first one for a draft counts. Registered as
    the signal's handler the first time the workflow asks, and the SDK hands it any signal that came earlier."""

    def __init__(self) -> None:
        self.decisions: dict[str, Decision] = {}

    def receive(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            workflow.logger.warning("ignored a %s signal that is not a decision: %r", SIGNAL, payload)
            return
        decision = Decision.from_data(payload)
        if decision.draft_id and decision.draft_id not in self.decisions:
            self.decisions[decision.draft_id] = decision


def _inbox() -> _Inbox:
    handler = workflow.get_signal_handler(SIGNAL)
    inbox = getattr(handler, "inbox", None)
    if isinstance(inbox, _Inbox):
        return inbox
    inbox = _Inbox()

    def on_decision(payload: Any) -> None:
        inbox.receive(payload)

    on_decision.inbox = inbox  # type: ignore[attr-defined]
    workflow.set_signal_handler(SIGNAL, on_decision)
    return inbox


async def create_draft(*, action: str, title: str, body: Any, context: dict[str, Any] | None = None,
                       activity_timeout: timedelta = _ACTIVITY_TIMEOUT, retry_policy: RetryPolicy | None = None,
                       **fields: Any) -> dict[str, Any]:
    """In a workflow: create the draft (through the activity) and return it as the API shows it. Extra fields
    (expires_in_s, cost_usd, model, confidence, metadata, requested_by, prompt_version) go to the draft."""
    _inbox()
    request = {k: v for k, v in {"action": action, "title": title, "body": body, "context": context,
                                 **fields}.items() if v is not None}
    result: dict[str, Any] = await workflow.execute_activity(
        CREATE_ACTIVITY, request, start_to_close_timeout=activity_timeout, retry_policy=retry_policy)
    return result


async def wait_for_decision(draft_id: str, *, timeout: timedelta | None = None,
                            withdraw_on_timeout: bool = True) -> Decision:
    """In a workflow: wait for the draft's decision. After `timeout` (None: until the draft is decided or expires
    on the server), the draft is withdrawn and an `expired` Decision returned; if a person decided it meanwhile,
    their decision is returned instead."""
    inbox = _inbox()
    try:
        await workflow.wait_condition(lambda: draft_id in inbox.decisions, timeout=timeout,
                                      timeout_summary="countersign decision")
    except TimeoutError:
        if draft_id in inbox.decisions:
            return inbox.decisions[draft_id]
        reason = f"no decision within {timeout}: the workflow stopped waiting"
        if withdraw_on_timeout:
            try:
                draft = await workflow.execute_activity(CANCEL_ACTIVITY, args=[draft_id, reason],
                                                        start_to_close_timeout=_ACTIVITY_TIMEOUT,
                                                        schedule_to_close_timeout=_WITHDRAW_FOR)
            except ActivityError:  # Countersign unreachable all that time: the timeout still ends the wait
                return Decision.expired(draft_id, f"{reason}; the draft could not be withdrawn")
            if draft.get("status") not in ("pending", "cancelled"):
                return Decision.from_data(draft)
        return Decision.expired(draft_id, reason)
    return inbox.decisions[draft_id]


async def approval(*, action: str, title: str, body: Any, context: dict[str, Any] | None = None,
                   timeout: timedelta | None = None, raise_unless_approved: bool = False,
                   **fields: Any) -> Decision:
    """In a workflow: create the draft and wait for its decision (see `create_draft`, `wait_for_decision`).
    With `raise_unless_approved`, a rejection raises the client's `Rejected` and a timeout or expiry `Expired`
    (list `countersign_client.NotApproved` in the Worker's `workflow_failure_exception_types` to let either fail
    the workflow rather than its task)."""
    draft = await create_draft(action=action, title=title, body=body, context=context, **fields)
    if is_final(draft):  # decided at once (the action's autonomy): no person, no signal to wait for
        decision = Decision.from_data(draft)
    else:
        decision = await wait_for_decision(str(draft["id"]), timeout=timeout)
    return decision.raise_unless_approved() if raise_unless_approved else decision
