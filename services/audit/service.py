"""Append to and verify the audit chain.

Appends are serialised (advisory lock on PostgreSQL, the writer lock on SQLite) so the chain stays a line
even with several replicas writing at once. The hash covers every field, so editing or deleting any row
breaks verification at that row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from services.audit.models import AuditEntry
from services.db import advisory_lock

GENESIS = "0" * 64
_AUDIT_LOCK = 0x436F756E  # any constant shared by every replica


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
        [
            entry.prev_hash,
            entry.created_at.isoformat(),
            entry.actor_type,
            entry.actor_id,
            entry.verb,
            entry.subject,
            entry.details,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def record(
    *, session: Session, actor: Actor, verb: str, subject: str, now: datetime, details: dict[str, Any] | None = None
) -> AuditEntry:
    """Append one entry in the caller's transaction: the entry commits or rolls back with the change."""
    advisory_lock(session, _AUDIT_LOCK)
    last = session.exec(select(AuditEntry.hash).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    # JSON round trip: what we hash must be exactly what the database gives back later.
    clean = json.loads(json.dumps(details or {}, default=str))
    entry = AuditEntry(
        created_at=now,
        actor_type=actor.type,
        actor_id=actor.id,
        verb=verb,
        subject=subject,
        details=clean,
        prev_hash=last or GENESIS,
        hash="",
    )
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str | None = None


def verify(*, session: Session, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; name the first entry whose hash or link does not hold."""
    expected_prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEntry).where(col(AuditEntry.id) > last_id).order_by(col(AuditEntry.id)).limit(batch)
        ).all()
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for entry in rows:
            if entry.prev_hash != expected_prev:
                return ChainReport(False, checked, entry.id, "link to the previous entry is broken")
            if _digest(entry) != entry.hash:
                return ChainReport(False, checked, entry.id, "entry content does not match its hash")
            expected_prev = entry.hash
            checked += 1
            last_id = entry.id or last_id
