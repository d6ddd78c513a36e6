"""Incidents: something unexpected an agent did, routed to its accountable owner and escalated until acted on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.agents.models import Strict
from services.db import UTCDateTime, require_id
from services.text import has_visible, link_url_problem

KINDS = ("error", "anomaly", "policy_violation", "halted", "heartbeat_missed", "budget_exceeded",
         "repeated_rejections")
SEVERITIES = ("low", "high", "critical")
OPEN_STATUSES = ("triggered", "acknowledged", "snoozed")
SNOOZE_CHOICES_S = (1800, 3600, 14400)


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    __table_args__ = (
        # At most one open incident per (agent, dedup key): open_dedup_key is cleared on resolve, and NULLs
        # never collide, so concurrent reports with the same key meet here instead of racing.
        Index("uq_incidents_open_dedup", "agent_id", "open_dedup_key", unique=True),
        Index("ix_incidents_agent_status", "agent_id", "status"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    agent_id: int = SQLField()
    agent_name: str = SQLField(max_length=63)
    kind: str = SQLField(max_length=64)
    severity: str = SQLField(max_length=16)
    summary: str = SQLField(max_length=1000)
    details: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedup_key: str | None = SQLField(default=None, max_length=255)
    open_dedup_key: str | None = SQLField(default=None, max_length=255)
    run_id: str | None = SQLField(default=None, max_length=128)
    trace_url: str | None = SQLField(default=None, max_length=2000)
    status: str = SQLField(default="triggered", max_length=16)
    occurrences: int = 1
    # The escalation chain as it was when the incident opened: editing the agent's chain never changes it.
    chain: list[dict[str, Any]] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    chain_repeat: int = 1
    step_index: int = 0  # the next step of the chain to run
    round: int = 0  # how many times the chain has been run through
    # The one timer: the next escalation step (triggered), the end of a snooze (snoozed) or the reminder to
    # the acknowledger (acknowledged). NULL means nothing is scheduled.
    next_step_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime, index=True)
    snoozed_until: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    # Where each card lives: recipient (user, channel or group id) -> channel posted to.
    cards: dict[str, str] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    thread_owner: str | None = SQLField(default=None, max_length=32)  # whose card carries the log thread
    acked_by: str | None = SQLField(default=None, max_length=64)
    acked_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = SQLField(default=None, max_length=64)
    resolved_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    resolution_note: str | None = SQLField(default=None, max_length=3000)
    opened_by: str = SQLField(max_length=128)
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)
    last_occurred_at: datetime = SQLField(sa_type=UTCDateTime)
    # The storm this incident was grouped into (services.incidents.storms): its card and the lead's chain page for
    # it. NULL: it stands alone, with its own card.
    storm_id: int | None = SQLField(default=None, index=True)


class IncidentStorm(SQLModel, table=True):
    """One agent failing fast: the incidents it opened past COUNTERSIGN_INCIDENT_STORM_AFTER, shown on one card per
    recipient (updated in place) and escalated by one chain, the lead incident's."""

    __tablename__ = "incident_storms"
    __table_args__ = (
        # At most one storm per agent takes new incidents: open_agent_id is cleared when it ends, and NULLs never
        # collide, so two reports starting a storm at once meet here instead of posting two cards.
        Index("uq_incident_storms_open", "open_agent_id", unique=True),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    agent_id: int = SQLField(index=True)
    agent_name: str = SQLField(max_length=63)
    lead_incident_id: int
    open_agent_id: int | None = SQLField(default=None)
    # Where each storm card lives: recipient (user, channel or group id) -> channel posted to.
    cards: dict[str, str] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(sa_type=UTCDateTime)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class StormPublic(BaseModel):
    """What a storm card shows: how many incidents, over how long, the newest, and counts by severity and status."""

    id: int
    agent: str
    lead_incident_id: int
    incidents: int
    first_at: datetime
    newest_at: datetime
    newest_summary: str
    severities: dict[str, int]
    statuses: dict[str, int]
    acknowledged_by: list[str]
    link: str  # the web app's incidents list for the agent


class IncidentEvent(SQLModel, table=True):
    """One line of an incident's history: an escalation step taken or a person's action."""

    __tablename__ = "incident_events"

    id: int | None = SQLField(default=None, primary_key=True)
    incident_id: int = SQLField(index=True)
    at: datetime = SQLField(sa_type=UTCDateTime)
    kind: str = SQLField(max_length=16)  # step | action | info
    verb: str = SQLField(max_length=32)
    actor: str = SQLField(max_length=128)
    targets: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = SQLField(default=None, max_length=3000)


class RejectionStreak(SQLModel, table=True):
    """Consecutive rejections of one agent's drafts, reset by an approval or by opening the incident."""

    __tablename__ = "rejection_streaks"

    agent_id: int = SQLField(primary_key=True)
    count: int = 0
    last_action: str | None = SQLField(default=None, max_length=64)
    updated_at: datetime = SQLField(sa_type=UTCDateTime)


class IncidentCreate(Strict):
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
                      description="error, anomaly, policy_violation, halted, … or the agent's own word")
    severity: Literal["low", "high", "critical"]
    summary: str = Field(min_length=1, max_length=1000)
    details: dict[str, Any] | None = None
    run_id: str | None = Field(None, max_length=128)
    dedup_key: str | None = Field(None, max_length=255)
    trace_url: str | None = Field(None, max_length=2000, description="http(s) link drawn on the incident's cards")

    @field_validator("summary")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if not has_visible(value):
            raise ValueError("must show something: it holds only invisible characters")
        return value

    @field_validator("trace_url")
    @classmethod
    def _safe_link(cls, value: str | None) -> str | None:
        problem = None if value is None else link_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class EventPublic(BaseModel):
    at: datetime
    kind: str
    verb: str
    actor: str
    targets: list[str]
    note: str | None


class IncidentPublic(BaseModel):
    id: int
    agent: str
    kind: str
    severity: str
    summary: str
    details: dict[str, Any]
    dedup_key: str | None
    run_id: str | None
    trace_url: str | None
    status: str
    occurrences: int
    last_occurred_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None
    snoozed_until: datetime | None
    next_step_at: datetime | None
    created_at: datetime
    updated_at: datetime
    steps_taken: list[EventPublic] = Field(default_factory=list)
    actions: list[EventPublic] = Field(default_factory=list)
    storm_id: int | None = Field(None, description="the storm this incident was grouped into (one card and one "
                                                  "escalation for an agent failing fast); null: it stands alone")

    @classmethod
    def of(cls, incident: Incident, events: list[IncidentEvent]) -> IncidentPublic:
        shown = [EventPublic.model_validate(e, from_attributes=True) for e in events]
        return cls(
            id=require_id(incident.id), agent=incident.agent_name, kind=incident.kind, severity=incident.severity,
            summary=incident.summary, details=incident.details, dedup_key=incident.dedup_key,
            run_id=incident.run_id, trace_url=incident.trace_url, status=incident.status,
            occurrences=incident.occurrences, last_occurred_at=incident.last_occurred_at,
            acknowledged_by=incident.acked_by, acknowledged_at=incident.acked_at,
            resolved_by=incident.resolved_by, resolved_at=incident.resolved_at,
            resolution_note=incident.resolution_note, snoozed_until=incident.snoozed_until,
            next_step_at=incident.next_step_at, created_at=incident.created_at, updated_at=incident.updated_at,
            steps_taken=[e for e in shown if e.kind == "step"], actions=[e for e in shown if e.kind != "step"],
            storm_id=incident.storm_id,
        )


class Accountability(BaseModel):
    """Who answers for an agent and how an incident reaches them (`/countersign owner <agent>`)."""

    agent: str
    owner: str
    backups: list[str]
    review_channel: str | None
    chain: list[dict[str, Any]]
    repeat: int
    status: str
