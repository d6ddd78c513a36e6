"""Listing drafts newest first, a page at a time: `GET /v1/drafts` and `countersign drafts list`.

The cursor is opaque to callers: the (created_at, id) of the last row shown, so a page never repeats or skips a
row while new drafts arrive (they sort before it). Reads run in a read-only session: on SQLite they never queue
behind the writer lock.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from sqlmodel import Session, col, or_, select

from services.agents.models import SLUG, Agent
from services.drafts.models import FINAL_STATUSES, PENDING, Draft, DraftPublic, DraftVote, public
from services.errors import field_error

STATUSES = (PENDING, *FINAL_STATUSES)
MAX_LIMIT, DEFAULT_LIMIT = 200, 50


def encode_cursor(draft: Draft) -> str:
    raw = f"{draft.created_at.isoformat()}|{draft.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, draft_id = raw.split("|", 1)
        return datetime.fromisoformat(when), draft_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error("cursor", "is not a cursor from this API: pass next_cursor from the previous page "
                                    "unchanged") from None


def check_filters(*, status: str | None, action: str | None, limit: int) -> None:
    if status is not None and status not in STATUSES:
        raise field_error("status", f"must be one of {', '.join(STATUSES)}")
    if action is not None and not re.match(SLUG, action):
        raise field_error("action", "must be an action name: lower-case letters, digits, - and _")
    if not 1 <= limit <= MAX_LIMIT:
        raise field_error("limit", f"must be between 1 and {MAX_LIMIT}")


def page(*, session: Session, agent_ids: list[int] | None, status: str | None = None, action: str | None = None,
         limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> tuple[list[Draft], str | None]:
    """One page of drafts (of these agents, or every agent's), newest first, and the cursor of the next."""
    check_filters(status=status, action=action, limit=limit)
    statement = select(Draft).where(col(Draft.is_canary).is_(False))  # oversight: canaries are no agent's
    if agent_ids is not None:
        statement = statement.where(col(Draft.agent_id).in_(agent_ids))
    if status is not None:
        statement = statement.where(Draft.status == status)
    if action is not None:
        statement = statement.where(Draft.action == action)
    if cursor:
        when, last_id = decode_cursor(cursor)
        statement = statement.where(or_(col(Draft.created_at) < when,
                                        (col(Draft.created_at) == when) & (col(Draft.id) < last_id)))
    rows = list(session.exec(statement.order_by(col(Draft.created_at).desc(), col(Draft.id).desc())
                             .limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def as_public(*, session: Session, drafts: list[Draft], agents: dict[int, Agent]) -> list[DraftPublic]:
    """Each draft's public JSON; the votes of the whole page in one query rather than one per draft."""
    votes: dict[str, list[tuple[str, int]]] = {}
    if drafts:
        rows = session.exec(select(DraftVote.draft_id, DraftVote.user_id, DraftVote.stage)
                            .where(col(DraftVote.draft_id).in_([d.id for d in drafts])).order_by(col(DraftVote.id)))
        for draft_id, user_id, stage in rows:
            votes.setdefault(draft_id, []).append((user_id, stage))
    return [public(d, agent_name=agents[d.agent_id].name if d.agent_id in agents else f"agent #{d.agent_id}",
                   votes=votes.get(d.id, [])) for d in drafts]
