"""Countersign's Python client: put a person's approval in front of an agent's action, and report usage, runs and
incidents. `Countersign` blocks; `AsyncCountersign` is the same API for asyncio."""

from countersign_client import _sandbox  # noqa: F401  (first: see its docstring)

# isort: split
from countersign_client._client import AsyncCountersign, Countersign
from countersign_client._core import VERSION as __version__
from countersign_client.errors import (
    AgentPaused,
    APIConnectionError,
    ApprovalTimeout,
    Conflict,
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
from countersign_client.types import Agent, BudgetCheck, Draft, DraftPage, Incident, Run, UsageResult, WebhookEvent
from countersign_client.usage import usage_event
from countersign_client.webhooks import verify_webhook

__all__ = [
    "APIConnectionError", "Agent", "AgentPaused", "ApprovalTimeout", "AsyncCountersign", "BudgetCheck", "Conflict",
    "Countersign", "CountersignError", "Denied", "Draft", "DraftPage", "Expired", "Incident", "InvalidSignature",
    "NotApproved", "NotFound", "RateLimited", "Rejected", "Run", "ServerError", "Unauthorized", "UsageResult",
    "ValidationError", "WebhookEvent", "__version__", "usage_event", "verify_webhook",
]
