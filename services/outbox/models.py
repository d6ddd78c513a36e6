"""Durable deliveries: Slack writes and agent callbacks, written in the transaction that causes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_order", "order_key", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # slack | callback
    method: str = Field(max_length=64)  # Slack method, or the callback event
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A chat.postMessage records the posted message under message_key; later updates name the same key.
    message_key: str | None = Field(default=None, max_length=128)
    thread_key: str | None = Field(default=None, max_length=128)
    # Rows sharing an order_key are delivered strictly in id order: an update never overtakes its post.
    order_key: str = Field(max_length=160)
    channel: str | None = Field(default=None, max_length=32)
    status: str = Field(default="pending", max_length=16)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    give_up_at: datetime = Field(sa_type=UTCDateTime)
    # Callbacks only.
    agent_id: int | None = Field(default=None, index=True)
    delivery_id: str | None = Field(default=None, max_length=40, unique=True)
    url: str | None = Field(default=None, max_length=2000)


class SlackMessage(SQLModel, table=True):
    """Where a keyed message landed, so later updates and thread replies can find it."""

    __tablename__ = "slack_messages"

    key: str = Field(primary_key=True, max_length=128)
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
