"""The append-only audit log: each sealed entry carries the hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_type: str = Field(max_length=16)  # agent | slack_user | admin | system
    actor_id: str = Field(max_length=128)
    verb: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=128, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Filled in by the sealer, in chain order, shortly after the entry commits (see audit/service.py).
    seq: int | None = Field(default=None, unique=True)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64, unique=True)
