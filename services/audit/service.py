"""Append to, seal and verify the audit chain.

Appending is a plain INSERT in the caller's transaction: the entry commits or rolls back with the change it
records, and no request waits on a global lock. A sealer (a scheduled job, and `audit verify`) then links the
committed entries into one chain, under an advisory lock on PostgreSQL (SQLite's writer lock on SQLite): each
gets the next `seq`, the previous entry's hash and its own hash over every field. Editing or deleting a sealed
entry breaks verification at that entry. The window before sealing is about one scheduler tick.

Every entry carries a MAC from the server key when the application writes it (services.audit.keys); the sealer
refuses an entry whose MAC does not verify (it is marked `refused`, never sealed) and `verify` names it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from services.audit.keys import database_key, entry_key, entry_mac
from services.audit.models import AuditEntry
from services.db import advisory_lock

log = logging.getLogger("countersign.audit")
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
    key, _ = entry_key(session)
    mac = entry_mac(key, created_at=now, actor_type=actor.type, actor_id=actor.id, verb=verb, subject=subject,
                    details=clean)
    entry = AuditEntry(created_at=now, actor_type=actor.type, actor_id=actor.id, verb=verb, subject=subject,
                       details=clean, mac=mac)
    session.add(entry)
    return entry


def _mac_holds(key: bytes, entry: AuditEntry) -> bool:
    expected = entry_mac(key, created_at=entry.created_at, actor_type=entry.actor_type, actor_id=entry.actor_id,
                         verb=entry.verb, subject=entry.subject, details=entry.details)
    return entry.mac is not None and hmac.compare_digest(expected, entry.mac)


def _before_macs(last_sealed: AuditEntry | None) -> bool:
    """Whether the chain holds no entry with a MAC yet: only then may an entry without one be sealed (one written
    before this release). Once an entry with a MAC is sealed, every later entry needs one."""
    return last_sealed is None or last_sealed.mac is None


def _waiting() -> Any:
    """Entries not sealed yet and not refused: what the sealer still has to look at."""
    return col(AuditEntry.seq).is_(None) & (col(AuditEntry.refused) == False)  # noqa: E712  (SQL, not Python)


def has_unsealed(*, session: Session) -> bool:
    return session.exec(select(AuditEntry.id).where(_waiting()).limit(1)).first() is not None


def seal(*, session: Session, limit: int = 5000) -> int:
    """Link committed, unsealed entries into the chain, oldest id first; returns how many were sealed. An entry
    whose MAC does not verify was not written by the application: it is marked refused and never sealed."""
    advisory_lock(session, AUDIT_LOCK)
    key, source = entry_key(session)
    last = session.exec(select(AuditEntry).where(col(AuditEntry.seq).is_not(None))
                        .order_by(col(AuditEntry.seq).desc()).limit(1)).first()
    seq, prev = (last.seq or 0, last.hash or GENESIS) if last else (0, GENESIS)
    pending = session.exec(select(AuditEntry).where(_waiting()).order_by(col(AuditEntry.id)).limit(limit)).all()
    sealed, legacy = 0, _before_macs(last)
    # Signed with the database's key before COUNTERSIGN_SECRET_KEY was set, until the chain has one signed with it.
    older = database_key(session) if source == "env" and (last is None or not _mac_holds(key, last)) else None
    for entry in pending:
        if entry.mac is None and legacy:
            pass  # written before entries carried a MAC (committed before the upgrade, sealed after it)
        elif older is not None and not _mac_holds(key, entry) and _mac_holds(older, entry):
            legacy = False
        elif not _mac_holds(key, entry):
            entry.refused = True
            session.add(entry)
            log.warning("audit entry %s refused: its MAC does not verify (written past the application)", entry.id)
            continue
        else:
            legacy, older = False, None
        sealed += 1
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = _digest(entry)
        session.add(entry)
    session.flush()
    return sealed


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None  # the first entry where the chain itself breaks
    problem: str | None = None
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)  # every failure, one line each
    without_mac: int = 0  # sealed entries written before entries carried a MAC
    older_key: int = 0  # sealed entries signed with the database's key before COUNTERSIGN_SECRET_KEY was set


def verify(*, session: Session, batch: int = 5000, most: int = 20) -> ChainReport:
    """Walk the sealed chain in order: the first entry whose hash or link does not hold ends the walk; each entry
    (sealed, refused or waiting) whose MAC does not verify is a failure of its own. At most `most` lines."""
    key, source = entry_key(session)
    older = database_key(session) if source == "env" else None
    problems: list[str] = []
    unsealed = 0
    last = session.exec(select(AuditEntry).where(col(AuditEntry.seq).is_not(None))
                        .order_by(col(AuditEntry.seq).desc()).limit(1)).first()
    legacy = _before_macs(last)
    older_open = older is not None and (last is None or not _mac_holds(key, last))
    for entry in session.exec(select(AuditEntry).where(col(AuditEntry.seq).is_(None))
                              .order_by(col(AuditEntry.id))).yield_per(batch):
        allowed = (_mac_holds(key, entry) or (entry.mac is None and legacy)
                   or (older_open and older is not None and _mac_holds(older, entry)))
        if entry.refused or not allowed:
            problems.append(f"entry {entry.id} ({entry.verb} {entry.subject}) was written past the application: "
                            "its MAC does not verify, so it is not sealed")
        else:
            unsealed += 1
    expected_prev, expected_seq, checked, without_mac, older_keyed = GENESIS, 1, 0, 0, 0
    broken: tuple[int | None, str] | None = None
    while broken is None:
        rows = session.exec(select(AuditEntry).where(col(AuditEntry.seq) >= expected_seq)
                            .order_by(col(AuditEntry.seq)).limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq or entry.prev_hash != expected_prev:
                broken = entry.id, "link to the previous entry is broken"
                break
            if _digest(entry) != entry.hash:
                broken = entry.id, "entry content does not match its hash"
                break
            if entry.mac is None and not checked - without_mac:  # only before the first entry that has one
                without_mac += 1
            elif _mac_holds(key, entry):
                older = None  # from here on, only the current key
            elif older is not None and _mac_holds(older, entry):
                older_keyed += 1
            else:
                problems.append(f"entry {entry.id} (sealed as {entry.seq}) has a MAC that does not verify: "
                                "written or rewritten past the application")
            expected_prev, expected_seq = entry.hash, expected_seq + 1
            checked += 1
    if broken is not None:
        problems.insert(0, f"chain broken at entry {broken[0]}: {broken[1]} ({checked} entries before it intact)")
    if len(problems) > most:
        problems = problems[:most] + [f"... and {len(problems) - most} more"]
    return ChainReport(ok=not problems, checked=checked, broken_id=broken[0] if broken else None,
                       problem=broken[1] if broken else None, unsealed=unsealed, problems=problems,
                       without_mac=without_mac, older_key=older_keyed)
