"""The two ways a notifier writes to Slack: post a message or update one, both as outbox rows in the caller's
transaction. Every notifier mixin and bot.notifier use these; this module imports none of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.outbox.service import enqueue_slack


def post(session: Session, *, channel: str, msg: dict[str, Any], now: datetime, key: str | None = None,
         thread_key: str | None = None) -> None:
    enqueue_slack(session=session, method="chat.postMessage", args={"channel": channel, **msg}, now=now,
                  message_key=key, thread_key=thread_key)


def update(session: Session, *, key: str, msg: dict[str, Any], now: datetime) -> None:
    enqueue_slack(session=session, method="chat.update", args=dict(msg), now=now, message_key=key)
