"""The client's public surface, pinned: a rename or a removal here is a breaking change for every agent using it."""

from __future__ import annotations

import inspect
import subprocess
import sys
import tomllib

import countersign_client
from countersign_client import (
    AgentPaused,
    APIConnectionError,
    ApprovalTimeout,
    AsyncCountersign,
    Conflict,
    Countersign,
    CountersignError,
    Denied,
    Expired,
    InvalidSignature,
    NotApproved,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    Unauthorized,
    ValidationError,
)

from tests.client.conftest import ROOT

EXPORTS = {
    "APIConnectionError", "Agent", "AgentPaused", "ApprovalTimeout", "AsyncCountersign", "BudgetCheck", "Conflict",
    "Countersign", "CountersignError", "Denied", "Draft", "DraftPage", "Expired", "Incident", "InvalidSignature",
    "NotApproved", "NotFound", "RateLimited", "Rejected", "Run", "ServerError", "Unauthorized", "UsageResult",
    "ValidationError", "WebhookEvent", "__version__", "usage_event", "verify_webhook",
}
METHODS = {
    "": {"request_approval", "require_approval", "record_usage", "report_incident", "check_budget", "run", "me"},
    "drafts": {"create", "get", "wait", "cancel", "list"},
    "incidents": {"create", "get"},
    "usage": {"create", "batch"},
    "budget": {"check"},
    "runs": {"start", "heartbeat", "finish", "get"},
    "evals": {"list"},
    "agents": {"me"},
}


def test_exports_are_exactly_the_documented_names() -> None:
    """`from countersign_client import *` gives the documented names, each importable."""
    assert set(countersign_client.__all__) == EXPORTS
    assert all(hasattr(countersign_client, name) for name in EXPORTS)


def test_one_exception_hierarchy() -> None:
    """Every error is a CountersignError; decisions that say "don't act" share NotApproved."""
    for cls in (APIConnectionError, ValidationError, Unauthorized, Denied, NotFound, Conflict, AgentPaused,
                RateLimited, ServerError, NotApproved, InvalidSignature):
        assert issubclass(cls, CountersignError)
    for cls in (Rejected, Expired, ApprovalTimeout):
        assert issubclass(cls, NotApproved)
    assert {"status", "type", "errors"} <= set(vars(CountersignError("x")))
    assert RateLimited("x", retry_after=2).retry_after == 2 and Rejected("x", reason="r").reason == "r"


def test_sync_and_async_clients_offer_the_same_methods_and_signatures() -> None:
    """The twins are one definition: same resources, same methods, same parameters."""
    sync = Countersign(api_key="k", base_url="http://x")
    asyn = AsyncCountersign(api_key="k", base_url="http://x")
    for resource, names in METHODS.items():
        left = getattr(sync, resource) if resource else sync
        right = getattr(asyn, resource) if resource else asyn
        public = {n for n in dir(left) if not n.startswith("_") and callable(getattr(left, n))}
        assert names <= public, (resource, names - public)
        for name in names:
            sync_sig, async_sig = inspect.signature(getattr(left, name)), inspect.signature(getattr(right, name))
            assert sync_sig.parameters == async_sig.parameters, name
            if name not in ("require_approval", "run"):  # these two return a decorator and a context manager
                assert inspect.iscoroutinefunction(getattr(right, name)), (resource, name)
                assert not inspect.iscoroutinefunction(getattr(left, name)), (resource, name)
    assert "timeout" in inspect.signature(sync.request_approval).parameters


def test_async_twin_is_generated_from_the_sync_source() -> None:
    """_async_resources.py is what client/unasync.py makes of _resources.py: nobody edited one side alone."""
    done = subprocess.run([sys.executable, str(ROOT / "client" / "unasync.py"), "--check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


def test_adapters_expose_resolve_and_aresolve() -> None:
    """Each framework adapter has a blocking resolve(cs, ..., timeout=) and an async aresolve."""
    from countersign_client import langgraph, openai_agents, pydantic_ai

    for module in (openai_agents, langgraph, pydantic_ai):
        assert {"resolve", "aresolve"} <= set(module.__all__)
        assert "timeout" in inspect.signature(module.resolve).parameters
        assert inspect.iscoroutinefunction(module.aresolve)


def test_distribution_metadata() -> None:
    """countersign-client depends on httpx alone; frameworks and engines are extras; its console scripts."""
    project = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    assert project["name"] == "countersign-client"
    assert [d.split(">")[0].split("<")[0].strip() for d in project["dependencies"]] == ["httpx"]
    assert {"openai-agents", "langgraph", "pydantic-ai", "mcp", "temporal", "dbos"} <= \
        set(project["optional-dependencies"])
    assert project["scripts"] == {"countersign-mcp": "countersign_client.mcp_server:main",
                                  "countersign-temporal-bridge": "countersign_client._temporal_bridge:main"}
