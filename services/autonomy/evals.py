"""Every decided draft as an evaluation example: one JSON object per draft, the same for the CLI and the API.

Rows come in decision order (decided_at, id), read in batches by keyset so an export of any size streams in
constant memory and never skips or repeats a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.autonomy.models import AutonomySample
from services.autonomy.stats import edit_distance, unified_diff
from services.drafts.models import APPROVED_STATUSES, Draft, as_value
from services.errors import field_error

# Cancelled drafts were withdrawn by the agent: no verdict, so no example.
EXPORTED = ("approved", "edited", "rejected", "expired", "auto_approved")
BATCH = 500


def parse_since(value: str | None, *, field: str = "since") -> datetime | None:
    """ISO 8601 date or date-time; a value without a zone is taken as UTC."""
    if value is None or value == "":
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: an offset that pushes year 1 or 9999 off the calendar
        raise field_error(field, "must be an ISO 8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T09:00:00Z"
                          ) from None


def row_of(draft: Draft, *, agent_name: str, sample: AutonomySample | None) -> dict[str, Any]:
    decided = draft.decided_at
    edited = draft.status == "edited" and draft.edited_body is not None
    return {
        "draft_id": draft.id,
        "agent": agent_name,
        "action": draft.action,
        "title": draft.title,
        "context": draft.context,
        "draft": as_value(draft.body, draft.body_is_json),
        "final": as_value(draft.current_text, draft.body_is_json) if draft.status in APPROVED_STATUSES else None,
        "verdict": draft.status,
        "reason": draft.reason,
        "reviewers": list(draft.decided_by or []),
        "edited_by": draft.edited_by if edited else None,
        "requested_by": draft.requested_by,
        "created_at": draft.created_at.isoformat(),
        "decided_at": decided.isoformat() if decided else None,
        "time_to_decision_s": round((decided - draft.created_at).total_seconds(), 3) if decided else None,
        "prompt_version": draft.prompt_version,
        "model": draft.model,
        "cost_usd": draft.cost_usd,
        "confidence": draft.confidence,
        "edit_distance": edit_distance(draft.body, draft.current_text) if edited else None,
        "diff": unified_diff(draft.body, draft.current_text) if edited else None,
        "audit": {"verdict": sample.verdict, "by": sample.judged_by,
                  "at": sample.judged_at.isoformat() if sample.judged_at else None} if sample else None,
    }


def batch(*, session: Session, agent_id: int | None, action: str | None, since: datetime | None,
          after: tuple[datetime, str] | None, limit: int = BATCH) -> list[dict[str, Any]]:
    statement = select(Draft, Agent.name).where(col(Draft.agent_id) == col(Agent.id),
                                                col(Draft.status).in_(EXPORTED), col(Draft.decided_at).is_not(None),
                                                col(Draft.is_canary).is_(False))  # oversight: canaries are tests
    if agent_id is not None:
        statement = statement.where(Draft.agent_id == agent_id)
    if action:
        statement = statement.where(Draft.action == action)
    if since is not None:
        statement = statement.where(col(Draft.decided_at) >= since)
    if after is not None:
        statement = statement.where(or_(col(Draft.decided_at) > after[0],
                                        and_(col(Draft.decided_at) == after[0], col(Draft.id) > after[1])))
    found = session.exec(statement.order_by(col(Draft.decided_at), col(Draft.id)).limit(limit)).all()
    ids = [draft.id for draft, _ in found]
    samples = {s.draft_id: s for s in session.exec(select(AutonomySample).where(col(AutonomySample.draft_id).in_(ids)))}
    return [row_of(draft, agent_name=name, sample=samples.get(draft.id)) for draft, name in found]


def lines(read: Callable[[], AbstractContextManager[Session]], *, agent_id: int | None = None,
          action: str | None = None, since: datetime | None = None) -> Iterator[str]:
    """JSON Lines, one short read transaction per batch so a slow reader never holds the database."""
    after: tuple[datetime, str] | None = None
    while True:
        with read() as session:
            rows = batch(session=session, agent_id=agent_id, action=action, since=since, after=after)
        for row in rows:
            yield json.dumps(row, ensure_ascii=False, default=str, allow_nan=False) + "\n"
        if len(rows) < BATCH:
            return
        last = rows[-1]
        after = (datetime.fromisoformat(last["decided_at"]), last["draft_id"])
