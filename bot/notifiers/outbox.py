"""The two ways a notifier writes to Slack: post a message or update one, both as outbox rows in the caller's
transaction. Every notifier mixin and bot.notifier use these; this module imports none of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.outbox.service import PRIORITY_PEOPLE, enqueue_slack


def post(session: Session, *, channel: str, msg: dict[str, Any], now: datetime, key: str | None = None,
         thread_key: str | None = None, urgent: bool = False) -> None:
    """`urgent`: a page, ahead of everything else in its lane even in a busy channel (DMs always are)."""
    enqueue_slack(session=session, method="chat.postMessage", args={"channel": channel, **msg}, now=now,
                  message_key=key, thread_key=thread_key, priority=PRIORITY_PEOPLE if urgent else None)


def update(session: Session, *, key: str, msg: dict[str, Any], now: datetime, channel: str | None = None) -> None:
    """`channel`: where the message was posted, naming its lane (found from the post when not given)."""
    enqueue_slack(session=session, method="chat.update", args=dict(msg), now=now, message_key=key, channel=channel)
