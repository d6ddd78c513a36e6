"""Spend: usage events, the per-day rollups digests and budget checks read, team and global budgets, price
overrides, and the once-only keys behind warnings and notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, ValidatorFunctionWrapHandler, field_validator, model_validator
from sqlalchemy import JSON, Column, Date, Index, SmallInteger, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.agents.models import SLUG, BudgetSpec, Strict
from services.db import UTCDateTime

# Countersign's own OpenAI spend (the digest narrative) is recorded under this agent id. No agent row has it
# (ids start at 1), so it never collides; digests show it as "countersign (internal)".
INTERNAL_AGENT_ID = 0
BATCH_SLICE = 10  # usage events validated together; a batch's validation stops after the first slice with errors
INTERNAL_AGENT_NAME = "countersign (internal)"

TokenCount = Annotated[int, Field(ge=0, le=100_000_000)]


class UsageCreate(Strict):
    model: str = Field(min_length=1, max_length=128)
    provider: str | None = Field(None, max_length=64)
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    # OpenAI's convention: cached tokens are a part of input_tokens, priced at the cached rate.
    cached_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = 0
    cost_usd: float | None = Field(None, ge=0, le=1_000_000)
    request_id: str | None = Field(None, min_length=1, max_length=128)
    draft_id: str | int | None = None

    @model_validator(mode="after")
    def _cached_within_input(self) -> UsageCreate:
        if self.cached_tokens > self.input_tokens:
            raise ValueError("cached_tokens is a part of input_tokens, so it cannot be larger")
        return self


class UsageBatch(Strict):
    events: list[UsageCreate] = Field(min_length=1, max_length=1000, description="up to 1,000 usage events")

    @field_validator("events", mode="wrap")
    @classmethod
    def _stop_at_the_first_bad_events(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """A valid batch in one pass that stops at its first bad event; a batch with one is validated again in
        slices up to the first slice with errors, which are the answer: a batch of 1,000 bad events is refused
        for the price of ten, with their errors (indices as in the batch) instead of 3,000."""
        if not isinstance(value, list) or not 0 < len(value) <= 1000:
            return handler(value)  # the length errors, said once
        try:
            return _EVENTS_UNTIL_ONE_FAILS.validate_python(value)
        except ValidationError:
            pass
        out: list[Any] = []
        for start in range(0, len(value), BATCH_SLICE):
            try:
                out.extend(handler(value[start:start + BATCH_SLICE]))
            except ValidationError:
                handler(value[:start + BATCH_SLICE])  # the same errors, numbered from the batch's start
                raise
        return out


# One pass over the whole list, given up at the first bad event (validating in slices cost twice as much).
_EVENTS_UNTIL_ONE_FAILS: TypeAdapter[list[UsageCreate]] = TypeAdapter(
    Annotated[list[UsageCreate], Field(fail_fast=True)])


class BudgetCheck(Strict):
    estimated_cost_usd: float = Field(ge=0, le=1_000_000)


class PriceOverrideIn(Strict):
    """Per-million-token rates; cached input defaults to the input rate."""

    input_per_mtok: float = Field(ge=0, le=10_000)
    output_per_mtok: float = Field(ge=0, le=10_000)
    cached_input_per_mtok: float | None = Field(None, ge=0, le=10_000)


class ScopedBudgetIn(BudgetSpec):
    """A team or global budget: an agent's budget spec plus whom it covers (an agent's own live on the agent)."""

    scope: Literal["team", "global"]
    team: str | None = Field(None, pattern=SLUG)

    @model_validator(mode="after")
    def _team_iff_scope(self) -> ScopedBudgetIn:
        if self.scope == "team" and not self.team:
            raise ValueError("a team budget names its team")
        if self.scope == "global" and self.team:
            raise ValueError("a global budget has no team")
        return self


class UsageEvent(SQLModel, table=True):
    __tablename__ = "usage_events"
    __table_args__ = (UniqueConstraint("agent_id", "request_id", name="uq_usage_request"),)

    id: int | None = SQLField(default=None, primary_key=True)
    agent_id: int = SQLField(index=True)
    request_id: str | None = SQLField(default=None, max_length=128)
    model: str = SQLField(max_length=128)
    provider: str | None = SQLField(default=None, max_length=64)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None  # NULL: cost unknown (never counted as $0)
    cost_source: str = SQLField(max_length=16)  # agent | override | genai-prices | unknown
    price: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON, nullable=True))
    draft_id: str | None = SQLField(default=None, max_length=64, index=True)
    day: date = SQLField(sa_column=Column(Date, nullable=False))  # local day in COUNTERSIGN_TIMEZONE
    created_at: datetime = SQLField(sa_type=UTCDateTime)


@dataclass(frozen=True)
class StoredEvent:
    """A usage event just inserted, as ingest answers with it: the row's fields without an ORM object per event
    (building a thousand SQLModel instances cost more than inserting the rows)."""

    id: int
    agent_id: int
    request_id: str | None
    model: str
    provider: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: float | None
    cost_source: str
    price: dict[str, Any] | None
    draft_id: str | None
    day: date
    created_at: datetime


class SpendRollup(SQLModel, table=True):
    """Sums per (agent, model, local day), kept current in the same transaction as each event, in up to
    services.spend.shards.SHARDS rows (`shard`): every read sums over them."""

    __tablename__ = "spend_rollups"
    __table_args__ = (Index("ix_spend_rollups_day", "day"),)

    agent_id: int = SQLField(primary_key=True)
    model: str = SQLField(primary_key=True, max_length=128)
    day: date = SQLField(sa_column=Column(Date, primary_key=True))
    shard: int = SQLField(default=0, sa_column=Column(SmallInteger, primary_key=True, server_default="0"))
    cost_usd: float = 0.0
    waste_usd: float = 0.0  # spend tied to drafts that ended rejected or expired, on the day that became known
    events: int = 0
    unknown_cost_events: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


class ScopedBudget(SQLModel, table=True):
    __tablename__ = "spend_budgets"
    __table_args__ = (UniqueConstraint("scope_key", "period", name="uq_spend_budget_scope_period"),)

    id: int | None = SQLField(default=None, primary_key=True)
    scope_key: str = SQLField(max_length=80)  # "global" or "team:<name>"
    period: str = SQLField(max_length=8)
    limit_usd: float
    on_exceed: str = SQLField(default="alert", max_length=8)
    thresholds: list[float] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class PriceOverride(SQLModel, table=True):
    __tablename__ = "price_overrides"

    model: str = SQLField(primary_key=True, max_length=128)
    input_per_mtok: float
    cached_input_per_mtok: float | None = None
    output_per_mtok: float
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class SpendAlert(SQLModel, table=True):
    """What has been said once: a budget threshold in a period, a spike on a day, an unknown model.

    The unique key is the whole point: INSERT ... ON CONFLICT DO NOTHING decides who speaks, across replicas.
    """

    __tablename__ = "spend_alerts"
    __table_args__ = (UniqueConstraint("key", "threshold", "period_start", name="uq_spend_alert"),)

    id: int | None = SQLField(default=None, primary_key=True)
    key: str = SQLField(max_length=128)  # e.g. agent:3:0, team:freight:month, spike:3, unknown-model:3:foo
    threshold: int = 0  # percent; 0 when not a threshold
    period_start: str = SQLField(max_length=10)  # ISO date, "" when timeless
    spent_usd: float | None = None
    limit_usd: float | None = None
    waived_by: str | None = SQLField(default=None, max_length=64)  # "Resume once" for the rest of the period
    created_at: datetime = SQLField(sa_type=UTCDateTime)
