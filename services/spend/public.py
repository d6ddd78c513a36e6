"""What the spend routes answer, as models: the OpenAPI document shows these, and clients are generated from it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class BudgetStatePublic(BaseModel):
    """One budget that applies to the agent (its own, its team's, or global) and where it stands now."""

    key: str
    scope: str = Field(description="agent, team or global")
    team: str | None
    period: str = Field(description="day, week or month")
    limit_usd: float
    spent_usd: float
    remaining_usd: float
    exceeded: bool
    on_exceed: str = Field(description="alert or pause")
    thresholds: list[float]
    waived: bool = Field(description="an owner chose 'resume once' for the rest of this period")
    period_start: str
    period_end: str


class UsageRecorded(BaseModel):
    id: int
    request_id: str | None
    model: str
    provider: str | None
    cost_usd: float | None = Field(description="as applied: the agent's figure, an override, or genai-prices")
    cost_source: str = Field(description="agent, override, genai-prices or unknown")
    cost_unknown: bool
    price: dict[str, Any] | None = Field(description="the per-million-token rates applied")
    draft_id: str | None
    day: str = Field(description="the local day (COUNTERSIGN_TIMEZONE) it counts towards")
    created_at: str
    budgets: list[BudgetStatePublic]


class UsageBatchItem(UsageRecorded):
    created: bool = Field(description="false: its request_id was seen before, and this is that first event")


class UsageBatchRecorded(BaseModel):
    object: Literal["list"] = "list"
    results: list[UsageBatchItem] = Field(description="one per event, in the order sent")


class BudgetCheckResult(BaseModel):
    allowed: bool
    reason: str
    remaining_usd: float | None
    budgets: list[BudgetStatePublic]


class ScopedBudgetPublic(BaseModel):
    id: int
    scope: str
    team: str | None
    period: str
    limit_usd: float
    on_exceed: str
    thresholds: list[float]
    updated_at: str


class PricePublic(BaseModel):
    model: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    updated_at: str
