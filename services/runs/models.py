"""Runs of a critical process: the agent beats while it works; silence past the deadline means it halted."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.agents.models import Strict
from services.db import UTCDateTime

HaltChoice = Literal["resume", "abort", "handoff"]
LIVE = ("running", "recovered")  # watched by the dead-man's switch
FINISHED = ("succeeded", "failed", "aborted")


class Run(SQLModel, table=True):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_status_deadline", "status", "deadline_at"),
                      Index("uq_runs_agent_run_id", "agent_id", "run_id", unique=True))

    id: str = SQLField(primary_key=True, max_length=40)  # internal; the agent knows its run by run_id
    agent_id: int = SQLField(index=True)
    run_id: str = SQLField(max_length=128)  # the agent's own id, or the server's ("run_…") when it gave none
    name: str | None = SQLField(default=None, max_length=200)
    meta: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    expect_heartbeat_every_s: int
    grace_s: int
    max_duration_s: int | None = None
    halt_policy: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = SQLField(default="running", max_length=16)
    last_step: str | None = SQLField(default=None, max_length=500)
    beats: int = 0
    started_at: datetime = SQLField(sa_type=UTCDateTime)
    last_beat_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    # When the run counts as halted unless something happens first; NULL once it halted or finished.
    deadline_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    halted_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    halt_reason: str | None = SQLField(default=None, max_length=32)  # heartbeat | max_duration
    halts: int = 0
    recovered_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    incident_id: int | None = None
    halt_decision: str | None = SQLField(default=None, max_length=16)
    halt_decided_by: str | None = SQLField(default=None, max_length=64)
    halt_decided_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = SQLField(default=None, sa_type=UTCDateTime)
    finish_note: str | None = SQLField(default=None, max_length=1000)


RUN_ID = r"^[A-Za-z0-9._:-]{1,128}$"


class RunCreate(Strict):
    run_id: str | None = Field(None, pattern=RUN_ID, description="the agent's own id for the run (1–128 of "
                               "A-Z a-z 0-9 . _ : -); starting a run whose run_id is open returns that run")
    expect_heartbeat_every_s: int = Field(ge=1, le=7 * 86400)
    grace_s: int = Field(ge=0, le=7 * 86400)
    max_duration_s: int | None = Field(None, ge=1, le=30 * 86400)
    halt_policy: list[HaltChoice] = Field(default_factory=lambda: ["resume", "abort", "handoff"], min_length=1)
    name: str | None = Field(None, max_length=200)
    metadata: dict[str, Any] | None = None
    step: str | None = Field(None, max_length=500, description="the first step, if already known")

    @field_validator("halt_policy")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class Heartbeat(Strict):
    step: str | None = Field(None, max_length=500)


class Finish(Strict):
    status: Literal["succeeded", "failed", "aborted"]
    step: str | None = Field(None, max_length=500)
    note: str | None = Field(None, max_length=1000)


class RunPublic(BaseModel):
    run_id: str
    name: str | None
    metadata: dict[str, Any]
    status: str
    expect_heartbeat_every_s: int
    grace_s: int
    max_duration_s: int | None
    halt_policy: list[str]
    last_step: str | None
    beats: int
    started_at: datetime
    last_beat_at: datetime | None
    deadline_at: datetime | None
    halted_at: datetime | None
    halt_reason: str | None
    recovered_at: datetime | None
    incident_id: int | None
    halt_decision: str | None
    halt_decided_by: str | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: Run) -> RunPublic:
        data = run.model_dump()
        return cls(metadata=run.meta, **{k: v for k, v in data.items() if k in cls.model_fields})


# How each choice reads to a person, on every surface that offers it.
CHOICE_LABELS = {"resume": "Resume the run", "abort": "Abort the run", "handoff": "Hand to a human"}
