"""What waits in the outbox and why, for `countersign outbox`: per kind and destination, oldest first; and what
gave up for good, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.outbox.models import OutboxMessage


@dataclass
class Queue:
    """The waiting rows for one destination: a Slack channel (or DM) or an agent's callback host."""

    kind: str
    destination: str
    rows: list[OutboxMessage] = field(default_factory=list)

    @property
    def oldest(self) -> datetime:
        return self.rows[0].created_at


def destination(row: OutboxMessage) -> str:
    if row.kind == "callback":
        parts = urlsplit(row.url or "")
        return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else (row.url or "?")
    return row.channel or "(no channel)"


def waiting(*, session: Session, limit: int = 1000) -> list[Queue]:
    """Pending rows grouped by kind and destination; each group oldest first, groups by their oldest row."""
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")
                        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id)).limit(limit)).all()
    queues: dict[tuple[str, str], Queue] = {}
    for row in rows:
        key = (row.kind, destination(row))
        queues.setdefault(key, Queue(*key)).rows.append(row)
    return sorted(queues.values(), key=lambda q: (q.oldest, q.kind, q.destination))


def gave_up(*, session: Session, limit: int = 20) -> list[OutboxMessage]:
    """Rows given up for good, newest first: what never arrived, where it was going, and the last error."""
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.status == "dead")
                             .order_by(col(OutboxMessage.id).desc()).limit(limit)).all())


def counts(*, session: Session) -> dict[str, int]:
    """Rows per status (pending, sent, dead), for the summary line."""
    return {status: int(n) for status, n in session.exec(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()}
