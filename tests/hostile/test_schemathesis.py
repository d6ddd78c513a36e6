"""Schemathesis against the service's own OpenAPI schema, served by a real server process: every operation,
valid and invalid data, with a valid agent key (admin token for admin operations). No 5xx, ever; every error
is application/problem+json with type, title, status and detail; every success matches its declared schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.transport.requests import ManagedCookiesSession

from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import ADMIN_TOKEN, ServerProcess, countersign_server, register_agent

# Per operation and mode: with 36 operations, 720 fresh cases a run (no example database: runs add up). A case
# costs the fuzzer 5-10 ms of CPU to draw and the server more to answer; a valid POST /v1/digests/send draws a
# PNG chart for each channel with a schedule (~0.1 s each; schedules pile up as the fuzz creates them), the
# largest single part of this test's CPU. At 20 a case the test took ~30 CPU-s.
MAX_EXAMPLES = 10


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    db = tmp_path_factory.mktemp("schemathesis") / "countersign.db"
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            countersign_server(f"sqlite:///{db}", slack_url=slack.url) as server:
        agent = register_agent(server.base_url, "hostile-fuzz-zz", callback_url=receiver.url)
        yield server, agent


# The agent-facing operations of the contract; every other /v1 operation is the admin's.
AGENT_PATHS = ("/v1/agents/me", "/v1/drafts", "/v1/incidents", "/v1/usage", "/v1/evals", "/v1/budget/check",
               "/v1/runs", "/v1/prompts")


def auth_for(path: str, agent: dict[str, Any]) -> dict[str, str]:
    mine = any(path == p or path.startswith(p + "/") for p in AGENT_PATHS)
    return {"Authorization": f"Bearer {agent['api_key'] if mine else ADMIN_TOKEN}"}


def problem_with(response: Any) -> str | None:
    """What is wrong with an answer, or None: below 500, and every error a complete problem+json."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        kind = response.headers.get("content-type", "")  # schemathesis keeps every value: a list
        kind = kind[0] if isinstance(kind, list) and kind else str(kind)
        if not kind.startswith("application/problem+json"):
            return f"{response.status_code} as {kind!r}: {response.text[:200]}"
        body = json.loads(response.content)
        missing = {"type", "title", "status", "detail"} - set(body)
        if missing or body.get("status") != response.status_code:
            return f"incomplete problem body: {body}"
    return None


def unlike_its_schema(operation: Any, response: Any) -> str | None:
    """A success whose body is not what the spec declares for it (typed responses are the contract too)."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        operation.validate_response(response)
    except AssertionError as exc:  # schemathesis reports non-conformance as a failed check (an AssertionError)
        return f"{response.status_code} unlike the declared schema: {str(exc)[:400]}"
    return None


def fuzz_one(operation: Any, mode: GenerationMode, server: ServerProcess, agent: dict[str, Any],
             failures: dict[str, str], session: ManagedCookiesSession | None = None) -> None:
    """Up to MAX_EXAMPLES cases of one operation; the first wrong answer is kept in `failures`. `session`: one
    kept-alive connection for them all (as schemathesis's own runner does), not a new one per case."""
    label = f"{operation.method.upper()} {operation.path}"
    headers = auth_for(operation.path, agent)

    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.explicit, Phase.generate])  # no shrinking against a live server: report the first
    @given(operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        if label in failures:
            return
        response = case.call(base_url=server.base_url, session=session, headers=headers, timeout=15)
        wrong = problem_with(response) or unlike_its_schema(operation, response)
        if wrong:
            failures[label] = f"{wrong}\n    reproduce: {case.as_curl_command(headers=headers)}"

    try:
        fuzz()
    except Unsatisfiable:  # e.g. nothing to make invalid in an operation without parameters
        pass


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_5xx_and_every_error_is_a_problem(mode: GenerationMode, live: tuple[ServerProcess, dict[str, Any]]) -> None:
    """Whatever an agent (or admin) sends, the answer is a 2xx or a clear problem+json, never a 500."""
    server, agent = live
    raw = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    with ManagedCookiesSession() as session:
        for operation in operations:
            fuzz_one(operation, mode, server, agent, failures, session)
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items()) + "\n" + server.log_text()[-3000:]
