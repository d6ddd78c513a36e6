"""Typed results. Each keeps the server's whole answer in `.raw`, so a field added server-side is never lost."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

APPROVED_STATUSES = ("approved", "edited", "auto_approved")
FINAL_STATUSES = ("approved", "edited", "rejected", "expired", "auto_approved", "cancelled")

T = TypeVar("T")


def _build(cls: type[T], data: dict[str, Any]) -> T:
    """The dataclass from a JSON object: known fields by name, the whole object in `raw`."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in names and k != "raw"}
    return cls(**values, raw=dict(data))  # type: ignore[call-arg]


@dataclass
class Draft:
    """A request for approval and, once decided, its decision."""

    id: str
    status: str
    action: str | None = None
    title: str | None = None
    body: Any = None
    context: dict[str, Any] = field(default_factory=dict)
    final_body: Any = None
    decided_by: list[str] = field(default_factory=list)
    reason: str | None = None
    decided_at: str | None = None
    created_at: str | None = None
    expires_at: str | None = None
    agent: str | None = None
    revision: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        draft = _build(cls, data)
        if draft.approved and draft.final_body is None:
            # Approved as drafted: what to act on is the body itself (`raw` keeps the server's answer as sent).
            draft.final_body = draft.body
        return draft

    @property
    def approved(self) -> bool:
        """True for approved, edited (approved with changes) and auto_approved."""
        return self.status in APPROVED_STATUSES

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @property
    def decided(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def edited(self) -> bool:
        return self.status == "edited"

    @property
    def effective_body(self) -> Any:
        """What to act on: the reviewer's edit when there is one, else the body as drafted."""
        return self.final_body if self.final_body is not None else self.body


@dataclass
class DraftPage:
    data: list[Draft]
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DraftPage:
        return cls([Draft.from_dict(d) for d in data.get("data", [])], data.get("next_cursor"))


@dataclass
class Incident:
    id: int
    status: str
    kind: str | None = None
    severity: str | None = None
    summary: str | None = None
    occurrences: int = 1
    dedup_key: str | None = None
    run_id: str | None = None
    storm_id: int | None = None  # grouped with the agent's other fast-failing incidents (one card, one escalation)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        return _build(cls, data)


@dataclass
class UsageResult:
    """The usage event as applied: its cost and the budgets' state after it."""

    cost_usd: float | None = None
    id: Any = None
    budgets: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsageResult:
        return _build(cls, data)


@dataclass
class BudgetCheck:
    allowed: bool
    reason: str | None = None
    remaining_usd: float | None = None
    budgets: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BudgetCheck:
        return _build(cls, data)


@dataclass
class Run:
    run_id: str
    status: str
    name: str | None = None
    last_step: str | None = None
    beats: int = 0
    expect_heartbeat_every_s: int | None = None
    grace_s: int | None = None
    halted_at: str | None = None
    halt_reason: str | None = None
    finished_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        return _build(cls, data)


@dataclass
class Agent:
    """The calling agent as the server sees it (`GET /v1/agents/me`)."""

    name: str
    status: str
    budgets: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Agent:
        return _build(cls, data)

    @property
    def paused(self) -> bool:
        return self.status == "paused"


@dataclass
class WebhookEvent:
    """A verified callback. The body is an envelope `{"id", "event", "created_at", "data"}`: `type` is the event
    (`draft.decided`, `run.halt_decision`, ...), `id` the delivery id (the same on every retry: dedupe on it),
    `data` the object (for draft events, the draft as `GET /v1/drafts/{id}` shows it), `payload` the whole body."""

    type: str | None
    id: str | None
    timestamp: int | None
    data: Any
    payload: Any = None

    @property
    def draft(self) -> Draft | None:
        """The decided draft, for draft events."""
        if isinstance(self.data, dict) and (self.type or "").startswith("draft.") and "id" in self.data:
            return Draft.from_dict(self.data)
        return None
