"""The append-only audit log: each sealed entry carries the hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlalchemy import false as sa_false
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
    # HMAC of the entry's content with the server key, set when the application writes it (services.audit.keys).
    mac: str | None = Field(default=None, max_length=64)
    # Set by the sealer on an unsealed entry whose MAC does not verify: written past the application, never sealed.
    refused: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})


class AuditCheckpoint(SQLModel, table=True):
    """A signed note of the chain's head (how many sealed entries, and the last one's hash). Trimming the tail or
    rewriting the chain no longer matches it, and without the key a new checkpoint cannot be forged."""

    __tablename__ = "audit_checkpoints"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    seq: int = Field(unique=True)  # entries 1..seq were sealed when it was taken
    hash: str = Field(max_length=64)
    mac: str = Field(max_length=64)  # HMAC-SHA256 over seq, hash and created_at
    key_source: str = Field(max_length=16)  # "env" (COUNTERSIGN_SECRET_KEY) or "database" (weaker; said by verify)
