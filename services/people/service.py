"""Who stands in for whom. Every rule about people away lives here:

- someone is away from now until `until`; nothing needs to run for it to end: every query compares with now;
- their delegate gets what was meant for them (DMs, reminders, pages, escalations) and may act wherever they could;
- a delegate who is away too hands on to their own delegate, up to MAX_HOPS, never back round a cycle;
- nobody delegates to themselves, and `until` lies in the future.

Keyword-only, session first, no I/O beyond the database.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, col, delete, select

from services.agents.models import USER_ID
from services.audit.service import Actor, record
from services.errors import NotFound, field_error
from services.people.models import Away

MAX_HOPS = 3  # a delegate away in turn hands on; past three hops it is a mistake, so the chain stops


def _check_user(field: str, user_id: str) -> None:
    if not re.match(USER_ID, user_id or ""):
        raise field_error(field, "must be a Slack user id like U012AB3CD (U or W, then capital letters and digits)")


def set_away(*, session: Session, user_id: str, until: datetime, delegate: str, actor: Actor,
             now: datetime) -> Away:
    """Mark `user_id` away until `until`, their work going to `delegate`; replaces an earlier absence."""
    _check_user("user", user_id)
    _check_user("delegate", delegate)
    if until.tzinfo is None:
        raise field_error("until", "must carry a time zone, e.g. 2026-12-24T09:00:00Z")
    if until <= now:
        raise field_error("until", "must lie in the future")
    if delegate == user_id:
        raise field_error("delegate", "must be someone else: a person cannot stand in for themselves")
    if user_id in _chain(session, delegate, now):
        raise field_error("delegate", f"{delegate} is away with {user_id} as their delegate: that would be a loop")
    row = session.get(Away, user_id) or Away(user_id=user_id, delegate=delegate, until=until, set_by=actor.id,
                                             set_at=now)
    row.delegate, row.until, row.set_by, row.set_at = delegate, until, actor.id, now
    session.add(row)
    _present(session).discard(user_id)
    record(session=session, actor=actor, verb="person.away", subject=f"person:{user_id}", now=now,
           details={"delegate": delegate, "until": until.isoformat()})
    return row


def set_back(*, session: Session, user_id: str, actor: Actor, now: datetime) -> Away:
    """End an absence early. NotFound when the person is not away."""
    row = session.get(Away, user_id)
    if row is None or row.until <= now:
        raise NotFound(f"{user_id} is not marked away")
    session.delete(row)
    record(session=session, actor=actor, verb="person.back", subject=f"person:{user_id}", now=now,
           details={"delegate": row.delegate, "until": row.until.isoformat()})
    return row


PRESENT = "people.present"  # Session.info: whom this transaction found not away (no row: the map can't hold it)


def _present(session: Session) -> set[str]:
    """People found not away in this transaction: a page and its thread line to one person ask once."""
    transaction = session.get_transaction()
    memo = session.info.get(PRESENT)
    if memo is None or memo[0] is not transaction:
        memo = session.info[PRESENT] = (transaction, set())
    return memo[1]  # type: ignore[no-any-return]


def away(*, session: Session, user_id: str, now: datetime) -> Away | None:
    present = _present(session)
    if user_id in present:
        return None
    row = session.get(Away, user_id)
    if row is None:
        present.add(user_id)
    return row if row is not None and row.until > now else None


def list_away(*, session: Session, now: datetime) -> list[Away]:
    return list(session.exec(select(Away).where(col(Away.until) > now).order_by(col(Away.until))))


def _chain(session: Session, user_id: str, now: datetime) -> list[str]:
    """`user_id`, then each delegate in turn while they are away too: at most MAX_HOPS on, never a repeat."""
    chain = [user_id]
    for _ in range(MAX_HOPS):
        row = away(session=session, user_id=chain[-1], now=now)
        if row is None or row.delegate in chain:
            break
        chain.append(row.delegate)
    return chain


def _resolve(session: Session, user_id: str, now: datetime) -> str:
    return _chain(session, user_id, now)[-1]


def delegate_for(*, session: Session, user_id: str, now: datetime) -> str | None:
    """Who gets what is meant for `user_id` now; None when they are here (or their stand-ins loop back)."""
    target = _resolve(session, user_id, now)
    return None if target == user_id else target


def recipient(*, session: Session, user_id: str, now: datetime) -> str:
    """The person to reach for `user_id`: their delegate while they are away, else themselves."""
    return _resolve(session, user_id, now)


def stands_in_for(*, session: Session, user_id: str, now: datetime) -> list[str]:
    """The people away now whose work reaches `user_id` (directly or through another delegate who is away)."""
    rows = list_away(session=session, now=now)
    return sorted(r.user_id for r in rows if _resolve(session, r.user_id, now) == user_id)


def forget_ended(*, session: Session, now: datetime) -> int:
    """Delete absences that ended; reads already ignore them, so this only keeps the table small."""
    result = session.exec(delete(Away).where(col(Away.until) <= now))  # type: ignore[call-overload]
    return result.rowcount or 0
