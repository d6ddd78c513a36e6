"""Anchors for the audit chain: signed checkpoints of its head, kept where the database cannot rewrite them alone.

The hash chain proves that sealed entries were not edited, but whoever can write the database can delete the
last entries, or delete some in the middle and recompute every hash after them, and the chain still holds. A
checkpoint notes the head (how many entries were sealed, and the last one's hash) and is signed with an HMAC
keyed by COUNTERSIGN_SECRET_KEY, which the database does not hold: a trimmed or recomputed chain no longer
matches it, and a forged checkpoint does not verify. Copies also go to an append-only file (on by default:
COUNTERSIGN_AUDIT_ANCHOR_FILE, countersign-audit-anchors.jsonl in the working directory) and, when configured, to
a Slack channel (COUNTERSIGN_AUDIT_ANCHOR_CHANNEL), so deleting checkpoints from the database is caught too.

Without COUNTERSIGN_SECRET_KEY the HMAC key is the one kept in the database: it still catches accidents, not an
attacker with the database, and `verify` says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from services.agents.secrets import ServerKey
from services.audit.models import AuditCheckpoint, AuditEntry
from services.audit.service import AUDIT_LOCK
from services.db import advisory_lock


def signing_key(session: Session, secret_key: str | None) -> tuple[bytes, str]:
    """The HMAC key and where it came from ("env" or "database")."""
    if secret_key:
        material, source = secret_key, "env"
    else:
        row = session.get(ServerKey, "webhook")
        if row is None:
            raise RuntimeError("server key missing: run `countersign db upgrade`")
        material, source = row.value, "database"
    return hashlib.sha256(b"countersign-audit-anchor\0" + material.encode()).digest(), source


def sign(key: bytes, *, seq: int, hash: str, created_at: datetime) -> str:
    message = f"{seq}\n{hash}\n{created_at.isoformat()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def as_line(checkpoint: AuditCheckpoint) -> str:
    """The checkpoint as one JSON line, as written to the anchor file and posted to Slack."""
    return json.dumps({"seq": checkpoint.seq, "hash": checkpoint.hash, "created_at": checkpoint.created_at.isoformat(),
                       "mac": checkpoint.mac, "key": checkpoint.key_source}, sort_keys=True, allow_nan=False)


def head(session: Session) -> AuditEntry | None:
    return session.exec(select(AuditEntry).where(col(AuditEntry.seq).is_not(None))
                        .order_by(col(AuditEntry.seq).desc()).limit(1)).first()


def latest(session: Session) -> AuditCheckpoint | None:
    return session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq).desc()).limit(1)).first()


def take_checkpoint(*, session: Session, now: datetime, secret_key: str | None) -> AuditCheckpoint | None:
    """Sign the current head, unless nothing was sealed since the last checkpoint. Serialised with sealing."""
    advisory_lock(session, AUDIT_LOCK)
    top = head(session)
    last = latest(session)
    if top is None or top.seq is None or top.hash is None or (last is not None and last.seq >= top.seq):
        return None
    key, source = signing_key(session, secret_key)
    checkpoint = AuditCheckpoint(created_at=now, seq=top.seq, hash=top.hash, key_source=source,
                                 mac=sign(key, seq=top.seq, hash=top.hash, created_at=now))
    session.add(checkpoint)
    session.flush()
    return checkpoint


def append_to_file(path: str, line: str) -> None:
    """Append and fsync: the file is the copy the database cannot rewrite."""
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class AnchorReport:
    checked: int = 0  # checkpoints (database and file) compared with the chain
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_anchors(*, session: Session, secret_key: str | None, file_path: str | None = None) -> AnchorReport:
    """Compare every checkpoint (the database's, and the file's if given) with the chain as it is now."""
    report = AnchorReport()
    key, source = signing_key(session, secret_key)
    if source == "database":
        report.warnings.append("checkpoints are signed with a key kept in the database (COUNTERSIGN_SECRET_KEY "
                               "is unset): they catch accidents, not someone who can write the database")
    stored = list(session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq))).all())
    candidates = [("checkpoint", cp.seq, cp.hash, cp.created_at, cp.mac, cp.key_source) for cp in stored]
    if file_path:
        candidates += _from_file(file_path, report)
        if stored and not Path(file_path).exists():
            report.problems.append(f"the anchor file {file_path} is missing")
    top = head(session)
    top_seq = (top.seq or 0) if top else 0
    if file_path and not stored and top_seq and not Path(file_path).exists():
        report.warnings.append(f"no checkpoints, and no anchor file at {file_path}: a trimmed chain cannot be told "
                               "from a short one (run verify where the server runs, or pass --anchor-file)")
    for where, seq, digest, created_at, mac, key_source in candidates:
        if key_source != source:
            report.warnings.append(f"{where} at entry {seq} was signed with the {key_source} key; not checkable now")
            continue
        if not hmac.compare_digest(mac, sign(key, seq=seq, hash=digest, created_at=created_at)):
            report.problems.append(f"{where} at entry {seq} has a bad signature: forged or altered")
            continue
        report.checked += 1
        if seq > top_seq:
            report.problems.append(f"{where} says {seq} entries were sealed but the chain ends at {top_seq}: "
                                   "entries were deleted from the end")
            continue
        entry = session.exec(select(AuditEntry).where(AuditEntry.seq == seq)).first()
        if entry is None or entry.hash != digest:
            report.problems.append(f"{where} at entry {seq} does not match the chain: it was rewritten")
    if file_path:
        on_file = {c[1] for c in candidates if c[0] != "checkpoint"}
        gone = sorted(on_file - {cp.seq for cp in stored})
        if gone:
            report.problems.append(f"the anchor file has checkpoints {gone[:5]} that the database lost")
    return report


def _from_file(path: str, report: AnchorReport) -> list[tuple[str, int, str, datetime, str, str]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            found.append((f"anchor file line {number}", int(data["seq"]), str(data["hash"]),
                          datetime.fromisoformat(data["created_at"]), str(data["mac"]), str(data.get("key", "env"))))
        except (ValueError, KeyError, TypeError):
            report.problems.append(f"anchor file line {number} is not a checkpoint")
    return found
