"""Oversight quality: canaries (known-bad drafts and where they were posted), prompt and model changes waiting
for their owner, and the shapes of the oversight report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.agents.models import SLUG, Strict
from services.db import UTCDateTime, require_id
from services.text import has_visible

CATCH, MISS, EXPIRED = "catch", "miss", "expired"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
PROMPT, MODEL = "prompt", "model"


def _no_nul(value: str) -> str:
    """No database stores a NUL in text (PostgreSQL refuses it), so it is the caller's error, named."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


class CanaryCreate(Strict):
    action: str = Field(pattern=SLUG)
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=100_000)
    why_bad: str = Field(min_length=1, max_length=2000, description="what a careful reviewer should have seen")

    @field_validator("title", "body", "why_bad")
    @classmethod
    def _visible(cls, value: str) -> str:
        if not value.strip() or not has_visible(value):
            raise ValueError("must not be blank")
        return _no_nul(value)


class Canary(SQLModel, table=True):
    """A known-bad draft an admin registered for an agent, posted among its real drafts now and then."""

    __tablename__ = "oversight_canaries"

    id: int | None = SQLField(default=None, primary_key=True)
    agent_id: int = SQLField(index=True)
    action: str = SQLField(max_length=63)
    title: str = SQLField(max_length=300)
    body: str = SQLField(sa_column=Column(Text, nullable=False))
    why_bad: str = SQLField(sa_column=Column(Text, nullable=False))
    posts: int = 0
    created_at: datetime = SQLField(sa_type=UTCDateTime)


class CanaryPost(SQLModel, table=True):
    """One canary posted as a draft. The (agent, seq) key is what makes a posting happen once across replicas."""

    __tablename__ = "oversight_canary_posts"
    __table_args__ = (UniqueConstraint("agent_id", "seq", name="uq_oversight_canary_posts_seq"),)

    draft_id: str = SQLField(primary_key=True, max_length=40)
    canary_id: int = SQLField(index=True)
    agent_id: int
    seq: int
    posted_at: datetime = SQLField(sa_type=UTCDateTime)
    outcome: str | None = SQLField(default=None, max_length=16)  # catch | miss | expired
    outcome_by: str | None = SQLField(default=None, max_length=32)
    outcome_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)


class CanaryPublic(BaseModel):
    id: int
    agent: str
    action: str
    title: str
    why_bad: str
    posts: int
    created_at: datetime


class PromptCreate(Strict):
    action: str = Field(pattern=SLUG)
    version: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=200_000)

    @field_validator("version", "text")
    @classmethod
    def _stored_as_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return _no_nul(value)


class Change(SQLModel, table=True):
    """A prompt version (or a model) of an (agent, action) and its owner's verdict: `pending` until the owner
    approves or rejects it on its card."""

    __tablename__ = "oversight_changes"
    __table_args__ = (UniqueConstraint("agent_id", "action", "kind", "version", name="uq_oversight_changes_key"),
                      Index("ix_oversight_changes_status", "agent_id", "action", "kind", "status"))

    id: int | None = SQLField(default=None, primary_key=True)
    agent_id: int
    action: str = SQLField(max_length=63)
    kind: str = SQLField(default=PROMPT, max_length=8)  # prompt | model
    version: str = SQLField(max_length=200)  # the prompt version, or the model's name
    text: str | None = SQLField(default=None, sa_column=Column(Text, nullable=True))
    base_version: str | None = SQLField(default=None, max_length=200)  # what the diff is against
    diff: str = SQLField(default="", sa_column=Column(Text, nullable=False))
    status: str = SQLField(default=PENDING, max_length=16)
    decided_by: str | None = SQLField(default=None, max_length=32)
    decided_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    replay: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = SQLField(sa_type=UTCDateTime)

    @property
    def card_key(self) -> str:
        return f"oversight:change:{self.id}"


class ChangePublic(BaseModel):
    id: int
    object: Literal["prompt_change"] = "prompt_change"
    agent: str
    action: str
    kind: str
    version: str
    base_version: str | None
    diff: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    replay: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, change: Change, *, agent_name: str) -> ChangePublic:
        return cls(id=require_id(change.id), agent=agent_name, action=change.action, kind=change.kind,
                   version=change.version, base_version=change.base_version, diff=change.diff, status=change.status,
                   decided_by=change.decided_by, decided_at=change.decided_at, replay=change.replay,
                   created_at=change.created_at)


# --- the report ------------------------------------------------------------------------------------------
class Timing(BaseModel):
    p50_s: float | None = None
    p95_s: float | None = None


class ReviewerRow(BaseModel):
    """One reviewer's decisions on one agent's action (one stage: `review` for a single-stage action)."""

    agent: str
    action: str
    reviewer: str
    stage: str = "review"
    decisions: int
    approved: int
    edited: int
    rejected: int
    approval_rate: float  # approved or edited, of decisions
    edit_rate: float
    time_to_decision: Timing
    canary_catches: int = 0
    canary_misses: int = 0
    rubber_stamp: bool = False
    evidence: dict[str, Any] | None = None  # why the flag is up (or how close it came), in figures


class WeekPoint(BaseModel):
    reviewer: str
    week: str  # ISO date of the week's Monday
    decisions: int
    approval_rate: float
    median_s: float | None


class Report(BaseModel):
    object: Literal["oversight_report"] = "oversight_report"
    since: datetime
    until: datetime
    days: int
    rows: list[ReviewerRow]
    weekly: list[WeekPoint]

    @property
    def flagged(self) -> list[ReviewerRow]:
        return [row for row in self.rows if row.rubber_stamp]
