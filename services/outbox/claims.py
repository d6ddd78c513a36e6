"""The outbox's claims in SQL: which lanes have due work, taking a lane's next rows under a fresh token, and
settling or releasing them under that token only.

A lane is worked by one sender at a time (its pacing and Slack's per-channel limit hold across replicas): a
lane with a live claim is skipped, and on PostgreSQL a transaction-scoped advisory lock per lane makes two
replicas claiming at the same instant see each other. Every write after the claim is conditional on the token
(`WHERE claim_token = :mine`), so a sender whose claim was taken from it (its process judged dead, its lease run
out) changes nothing and, since the next row's fence fails, sends nothing more.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from services.db import UTCDateTime, claim_due, dialect_insert, read_scope, session_scope
from services.outbox.delivery import Outcome
from services.outbox.lanes import Claim, lane_lock_key
from services.outbox.models import OutboxMessage, SlackMessage

log = logging.getLogger("countersign.outbox")


# The claim's statements are built once, with the moment and the kinds as bound parameters: building them per
# call (an aliased table, an EXISTS) was a tenth of the server's CPU per delivered card.
_NOW = bindparam("now")
_EARLIER = aliased(OutboxMessage)
_DUE = (
    OutboxMessage.status == "pending", col(OutboxMessage.kind).in_(bindparam("kinds", expanding=True)),
    OutboxMessage.next_attempt_at <= _NOW,
    or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < _NOW),
    # No earlier row of the same order key still pending: an update never overtakes its post.
    ~exists().where(_EARLIER.order_key == OutboxMessage.order_key, _EARLIER.status == "pending",
                    _EARLIER.id < OutboxMessage.id),  # type: ignore[operator]
)
_HELD_LANES = select(OutboxMessage.lane).distinct().where(
    OutboxMessage.status == "pending", col(OutboxMessage.claimed_until) >= _NOW)
_FIRST_PRIORITY = func.min(OutboxMessage.priority)
_DUE_LANES = (select(OutboxMessage.lane, _FIRST_PRIORITY).where(
    *_DUE, col(OutboxMessage.lane).not_in(bindparam("skip", expanding=True)))
    .group_by(OutboxMessage.lane).order_by(_FIRST_PRIORITY, func.min(OutboxMessage.id)).limit(bindparam("limit")))
_HELD_IN_LANE = select(OutboxMessage.id).where(
    OutboxMessage.lane == bindparam("lane"), OutboxMessage.status == "pending",
    col(OutboxMessage.claimed_until) >= _NOW).limit(1)
_DUE_IN_LANE = (select(OutboxMessage).where(OutboxMessage.lane == bindparam("lane"), *_DUE)
                .order_by(col(OutboxMessage.priority), col(OutboxMessage.id)))


def due_lanes(engine: Engine, *, now: datetime, kinds: Iterable[str], exclude: set[str],
              limit: int) -> list[tuple[str, int]]:
    """Lanes with work due now and no live claim, most urgent first: (lane, its most urgent priority)."""
    with read_scope(engine) as session:
        held = set(session.exec(_HELD_LANES, params={"now": now}).all())
        params = {"now": now, "kinds": list(kinds), "skip": sorted(held | exclude), "limit": limit}
        return [(lane, int(priority)) for lane, priority in session.exec(_DUE_LANES, params=params).all()]


def claim_lane(engine: Engine, *, lane: str, now: datetime, kinds: Iterable[str], limit: int, sender_id: str,
               lease_s: float) -> Claim | None:
    """Up to `limit` due rows of `lane`, most urgent first, under a new token; None if the lane is someone's."""
    with session_scope(engine) as session:
        return _claim(session, lane=lane, now=now, kinds=kinds, limit=limit, sender_id=sender_id, lease_s=lease_s)


def _claim(session: Session, *, lane: str, now: datetime, kinds: Iterable[str], limit: int, sender_id: str,
           lease_s: float, ours: bool = False) -> Claim | None:
    """`ours`: the lane was held by our claim, its last row settled in this transaction. No one else can hold
    the lane (a claim is refused while any row of its lane is held; our lease is renewed by the heartbeat), so
    there is no live claim to look for. Were our lease ever to run out unrenewed, two senders could pace one
    lane for a moment; the token on every row still keeps each to one send."""
    if session.get_bind().dialect.name == "postgresql":
        if not session.exec(select(func.pg_try_advisory_xact_lock(lane_lock_key(lane)))).one():
            return None  # another replica is claiming this lane at this very moment
    if not ours and session.exec(_HELD_IN_LANE, params={"lane": lane, "now": now}).first() is not None:
        return None
    rows = claim_due(session, _DUE_IN_LANE, limit=limit, params={"lane": lane, "now": now, "kinds": list(kinds)})
    if not rows:
        return None
    token = uuid.uuid4().hex
    for row in rows:
        row.claim_token, row.claimed_by = token, sender_id
        row.claimed_until = now + timedelta(seconds=lease_s)
    return Claim(lane, token, rows)


@dataclass(frozen=True)
class NextClaim:
    """What a claim's last settle asks for in the same transaction: the lane's next due rows."""

    kinds: tuple[str, ...]
    limit: int
    sender_id: str


def settle(engine: Engine, *, outcome: Outcome, token: str, now: datetime, lease_s: float,
           next_id: int | None = None, pause_lane: str | None = None) -> bool:
    """Record an attempt, under the claim's token; then fence the next row (renew it, still ours?).

    Returns whether the claim still holds `next_id`: False means stop, the rest is someone else's now.
    `pause_lane` (after a 429) holds back the lane's pending rows until Retry-After, for every replica.
    """
    with session_scope(engine) as session:
        row = _settle(session, outcome=outcome, token=token, now=now, pause_lane=pause_lane)
        if next_id is None:
            return row is not None
        return _fence(session, next_id, token, now, lease_s)


def settle_last(engine: Engine, *, outcome: Outcome, token: str, now: datetime, lease_s: float, lane: str,
                then: NextClaim) -> Claim | None:
    """Record a claim's last attempt and, in the same transaction, claim the lane's next due rows (None: the
    lane is done for now). One transaction where a settle and a new claim would take two."""
    with session_scope(engine) as session:
        if _settle(session, outcome=outcome, token=token, now=now, pause_lane=None) is None:
            return None  # our claim was taken: the lane is someone else's
        return _claim(session, lane=lane, now=now, kinds=then.kinds, limit=then.limit, sender_id=then.sender_id,
                      lease_s=lease_s, ours=True)


# A delivered row's settle, one conditional statement: no load of the row first (the claim's token and status
# fence it as the load's FOR UPDATE did), and what the post's record needs comes back with it.
_SENT = (update(OutboxMessage).where(
    col(OutboxMessage.id) == bindparam("row_id"), col(OutboxMessage.claim_token) == bindparam("token"),
    col(OutboxMessage.status) == "pending")
    .values(status="sent", sent_at=bindparam("sent_at", type_=UTCDateTime()), last_error=None,
            attempts=OutboxMessage.attempts + 1, claimed_until=None, claim_token=None, claimed_by=None)
    .returning(OutboxMessage.method, OutboxMessage.message_key, OutboxMessage.channel))
_SLACK_MESSAGES = SlackMessage.__table__  # type: ignore[attr-defined]


def _settle(session: Session, *, outcome: Outcome, token: str, now: datetime,
            pause_lane: str | None) -> Any | None:
    if outcome.ok:
        sent = session.execute(_SENT, {"row_id": outcome.row_id, "token": token, "sent_at": now}).first()
        if sent is None:
            log.warning("outbox row %s: claim lost before its delivery was recorded", outcome.row_id)
            return None
        _remember_post(session, sent.method, sent.message_key, sent.channel, outcome.response or {}, now)
        return sent  # settled before the lane is claimed again: a thread reply after it is due now
    row = session.exec(select(OutboxMessage).where(
        OutboxMessage.id == outcome.row_id, OutboxMessage.claim_token == token,
        OutboxMessage.status == "pending").with_for_update()).first()
    if row is None:
        log.warning("outbox row %s: claim lost before its attempt was recorded (%s)", outcome.row_id,
                    "delivered" if outcome.ok else outcome.error)
        return None
    _record(session, row, outcome, now)
    if pause_lane is not None:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.lane == pause_lane, OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at < row.next_attempt_at).values(next_attempt_at=row.next_attempt_at))
    session.flush()  # the row is settled before the lane is claimed again: a thread reply after it is due now
    return row


def _fence(session: Session, row_id: int, token: str, now: datetime, lease_s: float) -> bool:
    renewed = session.execute(update(OutboxMessage).where(
        OutboxMessage.id == row_id, OutboxMessage.claim_token == token, OutboxMessage.status == "pending",
    ).values(claimed_until=now + timedelta(seconds=lease_s)))
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def release(engine: Engine, *, ids: list[int], token: str) -> None:
    """Hand rows back untouched (shutting down, or the lane paused): due again for any sender at once."""
    if ids:
        with session_scope(engine) as session:
            _release(session, ids, token)


def _release(session: Session, ids: list[int], token: str) -> None:
    session.execute(update(OutboxMessage).where(
        col(OutboxMessage.id).in_(ids), OutboxMessage.claim_token == token, OutboxMessage.status == "pending",
    ).values(claimed_until=None, claim_token=None, claimed_by=None))


def _record(session: Session, row: OutboxMessage, outcome: Outcome, now: datetime) -> None:
    row.claimed_until = row.claim_token = row.claimed_by = None
    if outcome.retry_after is None:  # a 429 is Slack's pace, not the message failing: it must not grow the backoff
        row.attempts += 1
    if outcome.permanent or now >= row.give_up_at:
        row.status, row.last_error = "dead", outcome.error
        log.warning("outbox row %s (%s %s) given up: %s", row.id, row.kind, row.method, outcome.error)
    else:
        row.last_error = outcome.error
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, outcome.retry_after))


def _remember_post(session: Session, method: str, key: str | None, channel: str | None, response: dict[str, Any],
                   now: datetime) -> None:
    """Where a keyed post landed; a key already recorded (a post delivered twice) keeps its first record."""
    if method == "chat.postMessage" and key and response.get("ts"):
        session.execute(dialect_insert(session, _SLACK_MESSAGES).values(
            key=key, channel=response.get("channel") or channel, ts=response["ts"], created_at=now,
        ).on_conflict_do_nothing(index_elements=["key"]))


def backoff(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(retry_after, 0.5)
    base = min(2 ** (attempts - 1), 3600)
    return base * (0.75 + random.random() / 2)
