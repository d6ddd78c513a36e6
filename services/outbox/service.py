"""Writing to the outbox (in the caller's transaction) and reading its state."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.outbox.handoff import preclaim
from services.outbox.models import OutboxMessage, SlackMessage

SLACK_GIVE_UP = timedelta(hours=24)
CALLBACK_GIVE_UP = timedelta(hours=72)  # the contract promises at least 24 hours of retries

# Lower goes first. People (DMs, pages) and agents waiting on a callback must never queue behind channel cards.
PRIORITY_PEOPLE = 0
PRIORITY_EDITS = 1  # edits of messages already posted: a decided card loses its buttons before new cards arrive
PRIORITY_CHANNEL = 2
POSTING_METHODS = {"chat.postMessage", "files.upload_v2"}
QUEUED_KEY = "countersign.outbox_queued"  # Session.info: this transaction queued a delivery (wake the sender)


def queued_in(session: Session) -> bool:
    """Whether this session's transaction queued a delivery: only then is the sender woken after its commit
    (a wake makes it look for due lanes, which a usage event or a follow-up never needs)."""
    return bool(session.info.pop(QUEUED_KEY, False))


def is_person(channel: str) -> bool:
    """A user id (Slack opens the DM) or a DM channel id."""
    return channel[:1] in ("U", "W", "D")


def slack_lane(channel: str) -> str:
    return f"slack:{channel}"


def enqueue_slack(
    *,
    session: Session,
    method: str,
    args: dict[str, Any],
    now: datetime,
    message_key: str | None = None,
    thread_key: str | None = None,
    order_key: str | None = None,
    channel: str | None = None,
    priority: int | None = None,
) -> OutboxMessage:
    """Queue one Slack Web API call. `message_key` names the message a post creates or an update changes.

    `channel` names the lane for a call whose args carry none (an update names its message by key); without it
    the lane is found from the message's post. `priority` defaults by target: people, then edits, then channels.
    """
    if method == "chat.update" and message_key is not None:
        waiting = _fold_update(session, message_key, args)
        if waiting is not None:
            return waiting
    target = args.get("channel") or channel or _known_channel(session, message_key or thread_key)
    if priority is None:
        if method not in POSTING_METHODS:
            priority = PRIORITY_EDITS
        else:
            priority = PRIORITY_PEOPLE if target and is_person(target) else PRIORITY_CHANNEL
    row = OutboxMessage(
        kind="slack",
        method=method,
        payload=args,
        message_key=message_key,
        thread_key=thread_key,
        order_key=order_key or message_key or thread_key or f"slack:{uuid.uuid4().hex}",
        channel=args.get("channel"),
        lane=slack_lane(target) if target else f"slack:key:{message_key or thread_key or 'none'}",
        priority=priority,
        next_attempt_at=now,
        created_at=now,
        give_up_at=now + SLACK_GIVE_UP,
    )
    if not preclaim(session, row, now):  # claimed here, it is handed to the sender after the commit: no wake
        session.info[QUEUED_KEY] = True
    session.add(row)  # no flush: a transaction's messages go out in one batched INSERT at commit, in add order
    return row


def _fold_update(session: Session, key: str, args: dict[str, Any]) -> OutboxMessage | None:
    """An edit of a message that already has an edit waiting, not yet claimed by a sender: that row takes the new
    drawing (the newest wins), so a burst of redraws (a storm card) is one Slack call, not one per change. None:
    nothing waiting, insert as usual. Conditional on the row still being unclaimed, so an edit a sender holds is
    never changed under it; the new one then goes in after it."""
    for obj in session.new:
        if (isinstance(obj, OutboxMessage) and obj.method == "chat.update" and obj.message_key == key
                and obj.status == "pending"):
            obj.payload = args
            return obj
    with session.no_autoflush:  # keep this transaction's rows for one batched INSERT at commit
        return session.scalars(update(OutboxMessage).where(
            col(OutboxMessage.order_key) == key, col(OutboxMessage.message_key) == key,
            col(OutboxMessage.method) == "chat.update", col(OutboxMessage.status) == "pending",
            col(OutboxMessage.claim_token).is_(None)).values(payload=args).returning(OutboxMessage)).first()


def _known_channel(session: Session, key: str | None) -> str | None:
    """The channel of the keyed message: queued in this transaction, queued earlier, or already posted."""
    if key is None:
        return None
    for obj in session.new:
        if isinstance(obj, OutboxMessage) and obj.message_key == key and obj.channel:
            return obj.channel
    with session.no_autoflush:  # keep this transaction's rows for one batched INSERT at commit
        posted = session.get(SlackMessage, key)
        if posted is not None:
            return posted.channel
        return session.exec(
            select(OutboxMessage.channel).where(OutboxMessage.message_key == key,
                                                col(OutboxMessage.channel).is_not(None)).limit(1)
        ).first()


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
        lane=f"callback:{agent_id}",
        priority=PRIORITY_PEOPLE,
        next_attempt_at=now,
        created_at=now,
        give_up_at=now + CALLBACK_GIVE_UP,
        agent_id=agent_id,
        delivery_id=delivery_id,
        url=url,
    )
    session.add(row)
    session.flush()
    session.info[QUEUED_KEY] = True
    return row


def slack_message(*, session: Session, key: str) -> SlackMessage | None:
    return session.get(SlackMessage, key)


def posting(*, session: Session, key: str) -> bool:
    """Whether the message recorded under `key` is still to be posted, or posted and not yet recorded."""
    return session.exec(select(OutboxMessage.id).where(
        OutboxMessage.message_key == key, OutboxMessage.status == "pending").limit(1)).first() is not None
