"""Writing to the outbox (in the caller's transaction) and reading its state."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from services.outbox.models import OutboxMessage, SlackMessage

SLACK_GIVE_UP = timedelta(hours=24)
CALLBACK_GIVE_UP = timedelta(hours=72)  # the contract promises at least 24 hours of retries


def enqueue_slack(
    *,
    session: Session,
    method: str,
    args: dict[str, Any],
    now: datetime,
    message_key: str | None = None,
    thread_key: str | None = None,
    order_key: str | None = None,
) -> OutboxMessage:
    """Queue one Slack Web API call. `message_key` names the message a post creates or an update changes."""
    channel = args.get("channel")
    row = OutboxMessage(
        kind="slack",
        method=method,
        payload=args,
        message_key=message_key,
        thread_key=thread_key,
        order_key=order_key or message_key or thread_key or f"slack:{uuid.uuid4().hex}",
        channel=channel,
        next_attempt_at=now,
        created_at=now,
        give_up_at=now + SLACK_GIVE_UP,
    )
    session.add(row)  # no flush: a transaction's messages go out in one batched INSERT at commit, in add order
    return row


def enqueue_callback(
    *,
    session: Session,
    agent_id: int,
    url: str,
    event: str,
    data: dict[str, Any],
    now: datetime,
    order_key: str | None = None,
) -> OutboxMessage:
    """Queue a signed POST to an agent. The delivery id is fixed now and reused on every retry."""
    delivery_id = "dlv_" + uuid.uuid4().hex
    body = {"id": delivery_id, "event": event, "created_at": now.isoformat(), "data": data}
    row = OutboxMessage(
        kind="callback",
        method=event,
        payload=json.loads(json.dumps(body, default=str, allow_nan=False)),
        order_key=order_key or f"callback:{delivery_id}",
        next_attempt_at=now,
        created_at=now,
        give_up_at=now + CALLBACK_GIVE_UP,
        agent_id=agent_id,
        delivery_id=delivery_id,
        url=url,
    )
    session.add(row)
    session.flush()
    return row


def pending_count(*, session: Session, kind: str | None = None) -> int:
    statement = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    if kind:
        statement = statement.where(OutboxMessage.kind == kind)
    return int(session.exec(statement).one())


def slack_message(*, session: Session, key: str) -> SlackMessage | None:
    return session.get(SlackMessage, key)
