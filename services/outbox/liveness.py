"""Live senders: each running sender beats its row in `outbox_senders` and renews its claims; the others free the
claims of a sender that stopped beating (or, on the same host, whose process is gone) instead of waiting out the
lease. A SIGKILLed sender's rows are thus sent again within a few heartbeats, whatever COUNTERSIGN_OUTBOX_LEASE_S
is, and at once by a sender restarted on the same host.

"Stopped beating" is judged on the watcher's own monotonic clock (its beat has not moved for as long as it said it
might be silent), never by comparing the other's timestamps with ours: hosts' clocks differ, and a clock that
jumps (or a test's fake clock moved by hand) would otherwise make a live sender look dead and its rows go twice."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from services.db import read_scope, session_scope
from services.outbox.models import OutboxMessage, OutboxSenderBeat

MISSED_BEATS = 3  # a sender is gone after this many heartbeats without a beat


@lru_cache
def this_host() -> str:
    """Hostname and boot id: two machines (or one rebooted) never compare pids with each other."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}:{boot}"[:300]


def process_gone(pid: int) -> bool:
    """On this host: no such process, or only its zombie (killed, not yet waited for)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def beat(engine: Engine, *, sender_id: str, now: datetime, beat_s: float, lease_s: float, started_at: datetime,
         tokens: list[str]) -> int:
    """Say this sender is alive for MISSED_BEATS more beats, and renew the live claims (`tokens`) for a lease."""
    with session_scope(engine) as session:
        row = session.get(OutboxSenderBeat, sender_id)
        expires = now + timedelta(seconds=beat_s * MISSED_BEATS)
        if row is None:  # first beat, or another sender judged us dead and our claims are gone: start over
            session.add(OutboxSenderBeat(id=sender_id, host=this_host(), pid=os.getpid(), started_at=started_at,
                                         beat_at=now, expires_at=expires))
        else:
            row.beat_at, row.expires_at = now, expires
        if not tokens:
            return 0
        ids = _lock_rows(session, col(OutboxMessage.claim_token).in_(tokens))
        _set_claim(session, ids, claimed_until=now + timedelta(seconds=lease_s))
        return len(ids)


def _lock_rows(session: Session, where: Any) -> list[int]:
    """Pending rows matching `where`, locked in id order; rows a settle holds right now are skipped rather than
    waited for (that settle renews or frees them itself), so a heartbeat never deadlocks with a worker."""
    statement = select(OutboxMessage.id).where(where, OutboxMessage.status == "pending").order_by(
        col(OutboxMessage.id))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return [int(row_id) for row_id in session.exec(statement).all() if row_id is not None]


def _set_claim(session: Session, ids: list[int], **values: Any) -> None:
    if ids:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(**values))


@dataclass
class Watch:
    """What one sender has seen of the others' beats: each beat value and when (on our monotonic clock) we first
    saw it. A sender is silent once its beat has stood still for its own allowance (`expires_at - beat_at`)."""

    seen: dict[str, tuple[datetime, float]] = field(default_factory=dict)

    def silent(self, beats: list[OutboxSenderBeat], now_s: float) -> set[str]:
        present = {b.id for b in beats}
        self.seen = {k: v for k, v in self.seen.items() if k in present}  # forget senders that left
        gone = set()
        for sender in beats:
            first = self.seen.get(sender.id)
            if first is None or first[0] != sender.beat_at:
                self.seen[sender.id] = (sender.beat_at, now_s)
                continue
            if now_s - first[1] >= (sender.expires_at - sender.beat_at).total_seconds():
                gone.add(sender.id)
        return gone


def reap(engine: Engine, *, sender_id: str, watch: Watch, now_s: float) -> int:
    """Free every claim of senders that are gone; returns how many rows became due again."""
    with read_scope(engine) as session:
        others = list(session.exec(select(OutboxSenderBeat).where(OutboxSenderBeat.id != sender_id)).all())
    host = this_host()
    gone = watch.silent(others, now_s) | {s.id for s in others if s.host == host and process_gone(s.pid)}
    if not gone:
        return 0
    with session_scope(engine) as session:
        ids = _lock_rows(session, col(OutboxMessage.claimed_by).in_(gone))
        _set_claim(session, ids, claimed_until=None, claim_token=None, claimed_by=None)
        session.execute(delete(OutboxSenderBeat).where(col(OutboxSenderBeat.id).in_(gone)))
        return len(ids)


def retire(engine: Engine, *, sender_id: str) -> None:
    """A clean stop: hand back whatever is still claimed and leave, so a restart need not wait for anything."""
    with session_scope(engine) as session:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.claimed_by == sender_id, OutboxMessage.status == "pending",
        ).values(claimed_until=None, claim_token=None, claimed_by=None))
        session.execute(delete(OutboxSenderBeat).where(OutboxSenderBeat.id == sender_id))
