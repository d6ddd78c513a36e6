"""Every agent endpoint and the client's shorthand methods, written once, in blocking form.

This file is the single source: `_async_resources.py` is generated from it by `client/unasync.py` (each public
method becomes `async def` and awaits what it returns), and a test fails if the two drift apart. Every method
builds a flow (see _core) and hands it to the owning client's `_run`, which does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from countersign_client import _core
from countersign_client._core import Config, Flow, call, drop_none
from countersign_client._flows import create_and_wait, draft_path, wait_flow
from countersign_client.types import Agent, BudgetCheck, Draft, DraftPage, Incident, Run, UsageResult
from countersign_client.usage import usage_event


class _Resource:
    def __init__(self, owner: Any) -> None:
        self._owner = owner

    @property
    def _cfg(self) -> Config:
        return self._owner._cfg

    def _run(self, flow: Flow[Any]) -> Any:
        return self._owner._run(flow)


# unasync: begin
class Drafts(_Resource):
    def create(self, *, action: str, title: str, body: Any, context: dict[str, Any] | None = None,
               requested_by: str | None = None, expires_in_s: int | None = None, cost_usd: float | None = None,
               model: str | None = None, prompt_version: str | None = None, confidence: float | None = None,
               metadata: dict[str, Any] | None = None, idempotency_key: str | None = None) -> Draft:
        """POST /v1/drafts: ask for approval. Returns at once with the pending (or auto-decided) draft."""
        payload = drop_none(action=action, title=title, body=body, context=context, requested_by=requested_by,
                            expires_in_s=expires_in_s, cost_usd=cost_usd, model=model, prompt_version=prompt_version,
                            confidence=confidence, metadata=metadata)
        return self._run(call(self._cfg, "POST", "/v1/drafts", Draft.from_dict, json_body=payload,
                              idempotency_key=idempotency_key))

    def get(self, draft_id: str, *, wait: float | None = None) -> Draft:
        """GET /v1/drafts/{id}; `wait` (≤ 60 s) holds the request until the draft is decided."""
        if wait is not None and not 0 <= wait <= _core.MAX_WAIT_SLICE_S:
            raise ValueError("wait must be between 0 and 60 seconds; use drafts.wait() for longer")
        return self._run(call(self._cfg, "GET", draft_path(draft_id), Draft.from_dict, params={"wait": wait},
                              timeout=None if wait is None else wait + self._cfg.timeout))

    def wait(self, draft_id: str, *, timeout: float | None = None) -> Draft:
        """Until decided, or `timeout` seconds (then the draft comes back still pending)."""
        return self._run(wait_flow(self._cfg, draft_id, timeout))

    def cancel(self, draft_id: str, *, reason: str | None = None) -> Draft:
        """Withdraw a pending draft (409 Conflict if it was already decided)."""
        return self._run(call(self._cfg, "POST", draft_path(draft_id, "/cancel"), Draft.from_dict,
                              json_body=drop_none(reason=reason)))

    def list(self, *, status: str | None = None, action: str | None = None, limit: int | None = None,
             cursor: str | None = None) -> DraftPage:
        """GET /v1/drafts: this agent's drafts, newest first; pass `next_cursor` back for the next page."""
        params = {"status": status, "action": action, "limit": limit, "cursor": cursor}
        return self._run(call(self._cfg, "GET", "/v1/drafts", DraftPage.from_dict, params=params))


class Incidents(_Resource):
    def create(self, *, kind: str, severity: str, summary: str, details: dict[str, Any] | None = None,
               run_id: str | None = None, dedup_key: str | None = None, trace_url: str | None = None,
               idempotency_key: str | None = None) -> Incident:
        """POST /v1/incidents; a repeat with an open incident's `dedup_key` raises its `occurrences`."""
        payload = drop_none(kind=kind, severity=severity, summary=summary, details=details, run_id=run_id,
                            dedup_key=dedup_key, trace_url=trace_url)
        return self._run(call(self._cfg, "POST", "/v1/incidents", Incident.from_dict, json_body=payload,
                              idempotency_key=idempotency_key))

    def get(self, incident_id: int) -> Incident:
        return self._run(call(self._cfg, "GET", f"/v1/incidents/{int(incident_id)}", Incident.from_dict))


class Usage(_Resource):
    def create(self, usage: Any = None, *, model: str | None = None, provider: str | None = None,
               input_tokens: int | None = None, output_tokens: int | None = None,
               cached_tokens: int | None = None, reasoning_tokens: int | None = None,
               cost_usd: float | None = None, request_id: str | None = None,
               draft_id: str | None = None) -> UsageResult:
        """POST /v1/usage, from an OpenAI response or usage object and/or explicit fields."""
        event = usage_event(usage, model=model, provider=provider, request_id=request_id, input_tokens=input_tokens,
                            output_tokens=output_tokens, cached_tokens=cached_tokens,
                            reasoning_tokens=reasoning_tokens, cost_usd=cost_usd, draft_id=draft_id)
        return self._run(call(self._cfg, "POST", "/v1/usage", UsageResult.from_dict, json_body=event))

    def batch(self, events: Iterable[dict[str, Any]]) -> list[UsageResult]:
        """POST /v1/usage/batch: up to 1,000 events (dicts as for create); one result per event, in order."""
        body = {"events": list(events)}

        def parse(data: Any) -> list[UsageResult]:
            items = data.get("results", data.get("data", [])) if isinstance(data, dict) else data
            return [UsageResult.from_dict(item) for item in items]

        return self._run(call(self._cfg, "POST", "/v1/usage/batch", parse, json_body=body))


class Budget(_Resource):
    def check(self, estimated_cost_usd: float) -> BudgetCheck:
        """POST /v1/budget/check: may a call of about this cost go ahead?"""
        return self._run(call(self._cfg, "POST", "/v1/budget/check", BudgetCheck.from_dict,
                              json_body={"estimated_cost_usd": estimated_cost_usd}))


class Runs(_Resource):
    def start(self, *, heartbeat_every_s: int, grace_s: int, name: str | None = None, run_id: str | None = None,
              max_duration_s: int | None = None, metadata: dict[str, Any] | None = None, step: str | None = None,
              halt_policy: list[str] | None = None) -> Run:
        """POST /v1/runs: the server halts the run (and tells people) if beats stop for longer than
        heartbeat_every_s + grace_s."""
        payload = drop_none(expect_heartbeat_every_s=heartbeat_every_s, grace_s=grace_s, name=name, run_id=run_id,
                            max_duration_s=max_duration_s, metadata=metadata, step=step, halt_policy=halt_policy)
        return self._run(call(self._cfg, "POST", "/v1/runs", Run.from_dict, json_body=payload))

    def heartbeat(self, run_id: str, *, step: str | None = None) -> Run:
        return self._run(call(self._cfg, "POST", f"/v1/runs/{run_id}/heartbeat", Run.from_dict,
                              json_body=drop_none(step=step)))

    def finish(self, run_id: str, *, status: str = "succeeded", step: str | None = None,
               note: str | None = None) -> Run:
        """status: succeeded, failed or aborted."""
        return self._run(call(self._cfg, "POST", f"/v1/runs/{run_id}/finish", Run.from_dict,
                              json_body=drop_none(status=status, step=step, note=note)))

    def get(self, run_id: str) -> Run:
        return self._run(call(self._cfg, "GET", f"/v1/runs/{run_id}", Run.from_dict))


class Evals(_Resource):
    def list(self, *, action: str | None = None, since: str | None = None) -> list[dict[str, Any]]:
        """GET /v1/evals: every decided draft of this agent (JSON Lines), oldest first."""
        return self._run(_core.jsonl(self._cfg, "/v1/evals", {"action": action, "since": since}))


class Agents(_Resource):
    def me(self) -> Agent:
        """GET /v1/agents/me: status (active/paused), budgets and what is left."""
        return self._run(call(self._cfg, "GET", "/v1/agents/me", Agent.from_dict))


class ApiMethods:
    """The shorthand on the client itself (`cs.request_approval(...)`, `cs.record_usage(...)`, ...)."""

    _cfg: Config
    drafts: Drafts
    incidents: Incidents
    usage: Usage
    budget: Budget
    runs: Runs
    evals: Evals
    agents: Agents

    def _run(self, flow: Flow[Any]) -> Any:
        raise NotImplementedError

    def _attach(self) -> None:
        self.drafts, self.incidents = Drafts(self), Incidents(self)
        self.usage, self.budget = Usage(self), Budget(self)
        self.runs, self.evals, self.agents = Runs(self), Evals(self), Agents(self)

    def request_approval(self, *, action: str, title: str, body: Any, context: dict[str, Any] | None = None,
                         timeout: float | None = None, idempotency_key: str | None = None,
                         **fields: Any) -> Draft:
        """Ask for approval and wait (long-polling in ≤ 60 s slices) until decided or `timeout` seconds pass.
        The draft comes back in any case: check `.approved`, `.status`, `.final_body`, `.reason`. Extra fields
        (expires_in_s, cost_usd, model, confidence, metadata, requested_by, prompt_version) go to the draft."""
        payload = drop_none(action=action, title=title, body=body, context=context, **fields)
        return self._run(create_and_wait(self._cfg, payload, timeout, idempotency_key))

    def record_usage(self, usage: Any = None, *, model: str | None = None, draft_id: str | None = None,
                     **fields: Any) -> UsageResult:
        """Record spend from an OpenAI Chat Completions / Responses response or its `usage` (cached and reasoning
        tokens included), or from explicit fields (input_tokens, output_tokens, cost_usd, request_id, ...)."""
        return self.usage.create(usage, model=model, draft_id=draft_id, **fields)

    def report_incident(self, *, kind: str, severity: str, summary: str, **fields: Any) -> Incident:
        """Report unexpected behaviour; the same `dedup_key` while open raises the open incident's occurrences."""
        return self.incidents.create(kind=kind, severity=severity, summary=summary, **fields)

    def check_budget(self, estimated_cost_usd: float) -> BudgetCheck:
        """May a call of about this cost go ahead? `.allowed`, `.reason`, `.remaining_usd`."""
        return self.budget.check(estimated_cost_usd)

    def me(self) -> Agent:
        """This agent as the server sees it: `.status` (active/paused) and its budgets."""
        return self.agents.me()
