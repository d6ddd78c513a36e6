"""The two ways a notifier writes to Slack: post a message or update one, both as outbox rows in the caller's
transaction. Every notifier mixin and bot.notifier use these; this module imports none of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.outbox.service import PRIORITY_PEOPLE, enqueue_slack
from services.people import service as people

MAX_BLOCKS = 50


def _for_someone_away(msg: dict[str, Any], *, meant_for: str, until: datetime) -> dict[str, Any]:
    """The message as the delegate gets it: the same, with a line below saying whose it was."""
    note = f"For <@{meant_for}>, who is away until {until:%Y-%m-%d %H:%M} UTC; you stand in for them."
    out = {**msg, "text": f"{note}\n{msg.get('text', '')}".strip()}
    blocks = msg.get("blocks")
    if blocks and len(blocks) < MAX_BLOCKS:
        out["blocks"] = [*blocks, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
    return out


def post(session: Session, *, channel: str, msg: dict[str, Any], now: datetime, key: str | None = None,
         thread_key: str | None = None, urgent: bool = False) -> None:
    """`urgent`: a page, ahead of everything else in its lane even in a busy channel (DMs always are).
    A DM to someone away goes to their delegate (services.people decides who that is)."""
    if channel[:1] in ("U", "W"):
        absent = people.away(session=session, user_id=channel, now=now)
        if absent is not None:
            target = people.recipient(session=session, user_id=channel, now=now)
            if target != channel:
                msg = _for_someone_away(msg, meant_for=channel, until=absent.until)
                channel = target
    enqueue_slack(session=session, method="chat.postMessage", args={"channel": channel, **msg}, now=now,
                  message_key=key, thread_key=thread_key, priority=PRIORITY_PEOPLE if urgent else None)


def update(session: Session, *, key: str, msg: dict[str, Any], now: datetime, channel: str | None = None) -> None:
    """`channel`: where the message was posted, naming its lane (found from the post when not given)."""
    enqueue_slack(session=session, method="chat.update", args=dict(msg), now=now, message_key=key, channel=channel)
