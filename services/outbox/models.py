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
        Index("ix_outbox_lane", "lane", "status", "priority", "id"),
        Index("ix_outbox_claimed", "claimed_until"),
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
    # Where the row waits its turn: `slack:<channel or user>` or `callback:<agent id>`. Each lane is paced and
    # rate limited on its own and worked by one sender at a time, so a busy lane never holds up another.
    lane: str = Field(default="", max_length=200)
    # Lower goes first, within a lane and when choosing lanes: see services.outbox.service.PRIORITY_*.
    priority: int = 2
    status: str = Field(default="pending", max_length=16)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # A claim: the sender (claimed_by, a live OutboxSenderBeat) and its token, held until claimed_until unless
    # renewed. Every send and settle is conditional on the token, so a sender that lost its claim does nothing.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_by: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    give_up_at: datetime = Field(sa_type=UTCDateTime)
    # Callbacks only.
    agent_id: int | None = Field(default=None, index=True)
    delivery_id: str | None = Field(default=None, max_length=40, unique=True)
    url: str | None = Field(default=None, max_length=2000)


class OutboxSenderBeat(SQLModel, table=True):
    """One row per running sender, beaten every few seconds: the others see when it is gone and free its claims
    at once instead of waiting out their leases."""

    __tablename__ = "outbox_senders"

    id: str = Field(primary_key=True, max_length=32)
    host: str = Field(max_length=300)  # hostname and boot id: a sender on the same host may check the pid
    pid: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    beat_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class SlackMessage(SQLModel, table=True):
    """Where a keyed message landed, so later updates and thread replies can find it."""

    __tablename__ = "slack_messages"

    key: str = Field(primary_key=True, max_length=128)
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
