"""Append to, seal and verify the audit chain.

Appending is a plain INSERT in the caller's transaction: the entry commits or rolls back with the change it
records, and no request waits on a global lock. A sealer (a scheduled job, and `audit verify`) then links the
committed entries into one chain, under an advisory lock on PostgreSQL (SQLite's writer lock on SQLite): each
gets the next `seq`, the previous entry's hash and its own hash over every field. Editing or deleting a sealed
entry breaks verification at that entry. The window before sealing is about one scheduler tick.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.audit.models import AuditEntry
from services.db import advisory_lock

GENESIS = "0" * 64
AUDIT_LOCK = 0x436F756E  # any constant shared by every replica


@dataclass(frozen=True)
class Actor:
    type: str
    id: str

    @classmethod
    def agent(cls, name: str) -> Actor:
        return cls("agent", name)

    @classmethod
    def slack_user(cls, user_id: str) -> Actor:
        return cls("slack_user", user_id)

    @classmethod
    def admin(cls, who: str = "admin-token") -> Actor:
        return cls("admin", who)

    @classmethod
    def system(cls, job: str = "countersign") -> Actor:
        return cls("system", job)


def _digest(entry: AuditEntry) -> str:
    material = json.dumps(
        [entry.seq, entry.prev_hash, entry.created_at.isoformat(), entry.actor_type, entry.actor_id, entry.verb,
         entry.subject, entry.details],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def record(
    *, session: Session, actor: Actor, verb: str, subject: str, now: datetime, details: dict[str, Any] | None = None
) -> AuditEntry:
    """Append one entry in the caller's transaction; the sealer links it into the chain after it commits."""
    # JSON round trip: what is hashed later must be exactly what the database gives back.
    clean = json.loads(json.dumps(details or {}, default=str, allow_nan=False))
    entry = AuditEntry(created_at=now, actor_type=actor.type, actor_id=actor.id, verb=verb, subject=subject,
                       details=clean)
    session.add(entry)
    return entry


def has_unsealed(*, session: Session) -> bool:
    return session.exec(select(AuditEntry.id).where(col(AuditEntry.seq).is_(None)).limit(1)).first() is not None


def seal(*, session: Session, limit: int = 5000) -> int:
    """Link committed, unsealed entries into the chain, oldest id first; returns how many were sealed."""
    advisory_lock(session, AUDIT_LOCK)
    last = session.exec(select(AuditEntry).where(col(AuditEntry.seq).is_not(None))
                        .order_by(col(AuditEntry.seq).desc()).limit(1)).first()
    seq, prev = (last.seq or 0, last.hash or GENESIS) if last else (0, GENESIS)
    pending = session.exec(select(AuditEntry).where(col(AuditEntry.seq).is_(None))
                           .order_by(col(AuditEntry.id)).limit(limit)).all()
    for entry in pending:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = _digest(entry)
        session.add(entry)
    session.flush()
    return len(pending)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str | None = None
    unsealed: int = 0


def verify(*, session: Session, batch: int = 5000) -> ChainReport:
    """Walk the sealed chain in order; name the first entry whose hash or link does not hold."""
    unsealed = int(session.exec(select(func.count()).select_from(AuditEntry)
                                .where(col(AuditEntry.seq).is_(None))).one())
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    while True:
        rows = session.exec(select(AuditEntry).where(col(AuditEntry.seq) >= expected_seq)
                            .order_by(col(AuditEntry.seq)).limit(batch)).all()
        if not rows:
            return ChainReport(ok=True, checked=checked, unsealed=unsealed)
        for entry in rows:
            if entry.seq != expected_seq or entry.prev_hash != expected_prev:
                return ChainReport(False, checked, entry.id, "link to the previous entry is broken", unsealed)
            if _digest(entry) != entry.hash:
                return ChainReport(False, checked, entry.id, "entry content does not match its hash", unsealed)
            expected_prev, expected_seq = entry.hash, expected_seq + 1
            checked += 1
