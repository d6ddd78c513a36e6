"""Earned autonomy: per (agent, action, prompt version) level and evidence, audit samples, regression alerts.

A prompt version is stored as "" when the agent sends none, because NULLs never collide in a unique key and
"no version" must still be one version. The same goes for the model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.agents.models import AutonomyRule
from services.db import UTCDateTime

REVIEW, AUTO = "review", "auto"
# Evidence outcomes: what a person did with a draft that went to review.
APPROVED, EDITED, REJECTED, EXPIRED = "approved", "edited", "rejected", "expired"
OUTCOMES = (APPROVED, EDITED, REJECTED, EXPIRED)
# A sampled auto-approval, judged after the fact.
LOOKS_RIGHT, SHOULD_NOT_HAVE_PASSED = "looks_right", "should_not_have_passed"


class AutonomyState(SQLModel, table=True):
    """The earned level of one (agent, action, prompt version); a new prompt version gets a new row at review."""

    __tablename__ = "autonomy_states"
    __table_args__ = (UniqueConstraint("agent_id", "action", "prompt_version", name="uq_autonomy_states_key"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(index=True)
    action: str = Field(max_length=63)
    prompt_version: str = Field(default="", max_length=200)
    level: str = Field(default=REVIEW, max_length=16)
    granted_by: str | None = Field(default=None, max_length=64)  # a Slack user id, or "config" for the admin's
    granted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    demoted_reason: str | None = Field(default=None, max_length=500)
    demoted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Proposal state: None (none out), "proposed" (card with the owner), "declined" (owner said Not yet).
    proposal: str | None = Field(default=None, max_length=16)
    proposals: int = 0  # how many cards were sent; part of each card's message key
    repropose_after: int = 0  # "Not yet": no new card until the total number of decisions reaches this
    decisions_total: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AutonomyAction(SQLModel, table=True):
    """What the admin configured for an (agent, action), as last seen, and which prompt version it granted.

    The admin's `"autonomy": "auto"` grants auto to the prompt version in use when that setting is first seen
    (the next draft's); a later prompt version starts at review like any other.
    """

    __tablename__ = "autonomy_actions"

    agent_id: int = Field(primary_key=True)
    action: str = Field(primary_key=True, max_length=63)
    configured: str = Field(default=REVIEW, max_length=16)
    granted_version: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AutonomyEvidence(SQLModel, table=True):
    """One human decision on one draft; the unique draft id makes a repeated event count once."""

    __tablename__ = "autonomy_evidence"
    __table_args__ = (Index("ix_autonomy_evidence_key", "agent_id", "action", "prompt_version", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: str = Field(max_length=40, unique=True)
    agent_id: int
    action: str = Field(max_length=63)
    prompt_version: str = Field(default="", max_length=200)
    model: str = Field(default="", max_length=200)
    outcome: str = Field(max_length=16)
    edit_distance: float | None = None  # 0 (same) .. 1 (nothing in common), edited drafts only
    decided_at: datetime = Field(sa_type=UTCDateTime)


class AutonomySample(SQLModel, table=True):
    """An auto-approved draft picked for a retrospective check, and the verdict once someone gives it."""

    __tablename__ = "autonomy_samples"

    draft_id: str = Field(primary_key=True, max_length=40)
    agent_id: int = Field(index=True)
    action: str = Field(max_length=63)
    prompt_version: str = Field(default="", max_length=200)
    verdict: str | None = Field(default=None, max_length=32)
    judged_by: str | None = Field(default=None, max_length=32)
    judged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AutonomyRegression(SQLModel, table=True):
    """A regression alert raised once per (agent, action, dimension, old, new): the key is the guard."""

    __tablename__ = "autonomy_regressions"
    __table_args__ = (UniqueConstraint("agent_id", "action", "dimension", "old", "new",
                                       name="uq_autonomy_regressions_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int
    action: str = Field(max_length=63)
    dimension: str = Field(max_length=16)  # prompt_version | model
    old: str = Field(max_length=200)
    new: str = Field(max_length=200)
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    incident_id: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class EvidenceFigures(BaseModel):
    """One version's rolling window of decisions, as the owner's card and the overview show it."""

    decisions: int = 0
    approved_unedited: int = 0
    edited: int = 0
    rejected: int = 0
    expired: int = 0
    unedited_rate: float = 0.0
    mean_edit_distance: float | None = None  # of the edited ones, 0..1
    since_last_rejection: int = 0  # decisions after the newest rejection (all of them if none)
    total_decisions: int = 0  # since the version was first seen, beyond the window


class LevelRow(BaseModel):
    action: str
    prompt_version: str | None = None  # None: configured, no draft seen yet
    level: str
    configured: str
    granted_by: str | None = None
    demoted_reason: str | None = None
    proposal: str | None = None
    rule_met: bool = False
    evidence: EvidenceFigures | None = None
    # Oversight: the action's last prompt version its owner approved, and this row's version's review status
    # (pending | approved | rejected; None when the agent never registered its text).
    approved_prompt_version: str | None = None
    prompt_status: str | None = None


class Overview(BaseModel):
    """`/countersign autonomy <agent>`: each action's level and evidence per prompt version."""

    agent: str
    owner: str
    rule: AutonomyRule
    actions: list[LevelRow]
