"""Cards handed to this process's sender as their transaction commits, with no claim transaction.

A Slack post written in a request's transaction (`ctx.uow()`) may be inserted already claimed by this process's
sender (token, sender id and a full lease in the same INSERT) and handed to it after the commit. The claim is an
ordinary claim from then on: every send and settle is fenced on its token, the heartbeat renews it, and if the
process dies the claim is freed like any other (its sender stops beating, or its lease runs out), so another
sender or replica delivers the row.

A row is claimed so only when its lane has nothing pending at all, checked under the lane's lock (SQLite's writer
lock; on PostgreSQL the lane's advisory lock, which every claim of the lane takes too). Then nothing in the lane
can be due before it: no earlier card, no paced or rate-limited row (Retry-After keeps a row pending), no post
its update or thread reply must follow. Rows written after it wait for its claim to end, as behind any claim
(the claim's last settle takes the lane's next rows, most urgent first). In a busy lane the row is written
unclaimed and the lane's worker takes it in its turn. Several posts to one lane in one transaction (an incident's
DM and the first line of its thread) share one claim; a row of that lane left unclaimed in the transaction
stops any later one joining, so nothing overtakes it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, func, or_
from sqlmodel import Session, select

from services.outbox.lanes import Claim, lane_lock_key
from services.outbox.models import OutboxMessage

HANDOFF_KEY = "countersign.outbox_handoff"  # Session.info: this process's Handoff, set by AppContext.uow()
CLAIMED_KEY = "countersign.outbox_claimed"  # Session.info: the claims this transaction made, by lane

_PENDING_IN_LANE = select(OutboxMessage.id).where(
    OutboxMessage.status == "pending",
    or_(OutboxMessage.lane == bindparam("lane"), OutboxMessage.order_key == bindparam("order_key"))).limit(1)
_PENDING_IN_ORDER = select(OutboxMessage.id).where(
    OutboxMessage.status == "pending", OutboxMessage.order_key == bindparam("order_key")).limit(1)


class Taker(Protocol):
    """The running sender, as the hand-off sees it."""

    id: str
    lease_s: float

    def accepts(self, lane: str) -> bool:
        """Whether the sender would start this lane now (room for a lane, the lane not resting)."""
        ...

    def take(self, claim: Claim) -> None:
        """Deliver a committed claim (called in the sender's loop)."""
        ...


@dataclass
class Handoff:
    """The process's link from committing transactions to its running sender (none: every row is unclaimed)."""

    taker: Taker | None = None
    loop: asyncio.AbstractEventLoop | None = None
    handed: int = field(default=0)  # claims handed over, for tests and the benchmark's curiosity

    def attach(self, taker: Taker, loop: asyncio.AbstractEventLoop) -> None:
        self.taker, self.loop = taker, loop

    def detach(self) -> None:
        self.taker = None

    def hand(self, claims: Iterable[Claim]) -> None:
        """After the commit: give the claims to the sender. Lost (the loop gone), they lapse like a dead
        sender's and are delivered by another sender."""
        loop, taker = self.loop, self.taker
        if loop is None or taker is None or loop.is_closed():
            return
        for claim in claims:
            claim.rows = [row for row in claim.rows if row.id is not None]
            if claim.rows:
                self.handed += 1
                loop.call_soon_threadsafe(taker.take, claim)


def preclaim(session: Session, row: OutboxMessage, now: datetime) -> bool:
    """Claim `row` for this process's sender in the caller's transaction, if its lane is free (module doc)."""
    handoff = session.info.get(HANDOFF_KEY)
    taker = handoff.taker if isinstance(handoff, Handoff) else None
    if taker is None or row.method != "chat.postMessage":
        return False
    claimed: dict[str, Claim] = session.info.setdefault(CLAIMED_KEY, {})
    claim = claimed.get(row.lane)
    if _unclaimed_here(session, row):
        return False
    with session.no_autoflush:  # this transaction's rows still go out in one batched INSERT at commit
        if claim is None:
            if not taker.accepts(row.lane) or not _lane_free(session, row.lane, row.order_key):
                return False
            claim = claimed[row.lane] = Claim(row.lane, uuid.uuid4().hex, [])
        elif row.order_key not in {r.order_key for r in claim.rows} and session.exec(
                _PENDING_IN_ORDER, params={"order_key": row.order_key}).first() is not None:
            return False
    row.claim_token, row.claimed_by = claim.token, taker.id
    row.claimed_until = now + timedelta(seconds=taker.lease_s)
    claim.rows.append(row)
    return True


def _unclaimed_here(session: Session, row: OutboxMessage) -> bool:
    """A pending row of the same lane in this transaction that is not pre-claimed: the new one must follow it."""
    return any(isinstance(obj, OutboxMessage) and obj is not row and obj.lane == row.lane
               and obj.status == "pending" and obj.claim_token is None
               for obj in (*session.new, *session.identity_map.values()))


def _lane_free(session: Session, lane: str, order_key: str) -> bool:
    """Nothing pending in the lane (or before the row in its order), under the lane's lock."""
    if session.get_bind().dialect.name == "postgresql":
        if not session.exec(select(func.pg_try_advisory_xact_lock(lane_lock_key(lane)))).one():
            return False  # the lane is being claimed or written to with a claim at this moment: leave it
    return session.exec(_PENDING_IN_LANE, params={"lane": lane, "order_key": order_key}).first() is None
