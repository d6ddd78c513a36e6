"""The OpenAPI document as a contract a generator can build a client from: bearer security, problem+json errors,
stable operation ids and tags.

Routes declare their errors with one line, e.g. `responses=AGENT_WRITE_ERRORS` or `responses=problems(401, 404)`;
`install(app)` names every operation from OPERATION_IDS (a route missing there fails tests/test_openapi.py)
and rewrites each error response's media type to application/problem+json, which is what the handlers send.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from services.http.problems import PROBLEM


class FieldProblem(BaseModel):
    field: str = Field(description="where in the request, e.g. budgets[0].period")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details. Some problems add members (a 409 on a decided draft says who decided it)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://countersign.dev/problems/validation-failed"])
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(None, description="for validation problems: one per bad field")


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Ready(BaseModel):
    status: str = Field(examples=["ready"])
    database: str = Field(examples=["ok"])


WHY = {
    400: "malformed JSON",
    401: "missing or wrong bearer token",
    403: "refused by policy",
    404: "not found, or not this agent's",
    409: "conflicts with the current state, or an Idempotency-Key reused with another body",
    413: "request body too large",
    422: "validation failed; `errors` names each field",
    423: "the agent is paused; writes are refused",
    429: "over the agent's request rate; see Retry-After",
    503: "not ready: the database is unreachable",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Declared error responses, each a Problem sent as application/problem+json."""
    return {status: {"model": Problem, "description": WHY[status]} for status in statuses}


AGENT_READ_ERRORS = problems(401, 404, 422, 429)
AGENT_WRITE_ERRORS = problems(400, 401, 404, 409, 413, 422, 423, 429)
ADMIN_ERRORS = problems(400, 401, 404, 409, 413, 422)

# Every operation's id, in one place: (method, path) -> operationId. Stable: generated clients name methods
# after these, so renaming one breaks every client built from an older spec.
OPERATION_IDS = {
    ("POST", "/v1/drafts"): "createDraft",
    ("GET", "/v1/drafts"): "listDrafts",
    ("GET", "/v1/drafts/{draft_id}"): "getDraft",
    ("POST", "/v1/drafts/{draft_id}/cancel"): "cancelDraft",
    ("POST", "/v1/incidents"): "createIncident",
    ("GET", "/v1/incidents/{incident_id}"): "getIncident",
    ("POST", "/v1/usage"): "recordUsage",
    ("POST", "/v1/usage/batch"): "recordUsageBatch",
    ("POST", "/v1/budget/check"): "checkBudget",
    ("POST", "/v1/runs"): "startRun",
    ("GET", "/v1/runs/{run_id}"): "getRun",
    ("POST", "/v1/runs/{run_id}/heartbeat"): "heartbeatRun",
    ("POST", "/v1/runs/{run_id}/finish"): "finishRun",
    ("GET", "/v1/agents/me"): "getMe",
    ("GET", "/v1/evals"): "listEvals",
    ("POST", "/v1/agents"): "createAgent",
    ("GET", "/v1/agents"): "listAgents",
    ("GET", "/v1/agents/{name}"): "getAgent",
    ("PATCH", "/v1/agents/{name}"): "updateAgent",
    ("POST", "/v1/agents/{name}/pause"): "pauseAgent",
    ("POST", "/v1/agents/{name}/resume"): "resumeAgent",
    ("POST", "/v1/agents/{name}/rotate-key"): "rotateAgentKey",
    ("POST", "/v1/agents/{name}/rotate-webhook-secret"): "rotateWebhookSecret",
    ("GET", "/v1/budgets"): "listBudgets",
    ("PUT", "/v1/budgets"): "setBudget",
    ("DELETE", "/v1/budgets/{budget_id}"): "deleteBudget",
    ("GET", "/v1/prices"): "listPrices",
    ("PUT", "/v1/prices/{model}"): "setPrice",
    ("DELETE", "/v1/prices/{model}"): "deletePrice",
    ("GET", "/v1/digests/schedules"): "listDigestSchedules",
    ("POST", "/v1/digests/schedules"): "addDigestSchedules",
    ("DELETE", "/v1/digests/schedules/{schedule_id}"): "removeDigestSchedule",
    ("POST", "/v1/digests/send"): "sendDigest",
    ("GET", "/healthz"): "healthz",
    ("GET", "/readyz"): "readyz",
    ("GET", "/metrics"): "metrics",
    ("GET", "/v1/oversight"): "getOversight",
    ("POST", "/v1/agents/{name}/canaries"): "createCanary",
    ("POST", "/v1/prompts"): "registerPrompt",
    ("PUT", "/v1/people/{user}/away"): "setPersonAway",
    ("DELETE", "/v1/people/{user}/away"): "setPersonBack",
    ("GET", "/v1/people/away"): "listPeopleAway",
}

TAGS = [
    {"name": "drafts", "description": "Ask people to approve, edit or reject what an agent wants to do."},
    {"name": "incidents", "description": "Report unexpected behaviour; the agent's owner is paged."},
    {"name": "runs", "description": "Critical processes that must keep beating; a silent one is halted."},
    {"name": "spend", "description": "Usage, prices and budgets."},
    {"name": "evals", "description": "Every human decision as an evaluation example."},
    {"name": "agents", "description": "Register and manage agents (admin), and an agent's view of itself."},
    {"name": "digests", "description": "Scheduled spend and approval digests (admin)."},
    {"name": "ops", "description": "Liveness, readiness and metrics."},
    {"name": "oversight", "description": "Whether the oversight works: reviewers, canaries, prompt changes."},
    {"name": "people", "description": "People away (admin): who stands in for whom, until when."},
]


def install(app: FastAPI) -> None:
    """Serve a spec whose operations carry the ids above and whose errors are application/problem+json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes, tags=TAGS)
            for path, operations in spec.get("paths", {}).items():
                for method, operation in operations.items():
                    operation["operationId"] = OPERATION_IDS.get((method.upper(), path), operation["operationId"])
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if status[:1] in "45" and "application/json" in content:
                            content[PROBLEM] = content.pop("application/json")
            for unused in ("HTTPValidationError", "ValidationError"):
                spec.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
