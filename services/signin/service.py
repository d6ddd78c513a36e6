"""Login links and sessions: keyword-only, session first, no I/O beyond the database.

Redeeming a link is one conditional UPDATE (`... WHERE used_at IS NULL AND expires_at > now`), so a link opened
twice at once signs in exactly once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from services.agents.models import USER_ID
from services.errors import Forbidden, field_error
from services.signin.models import LoginLink, WebSession

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_user_id(user_id: str) -> str:
    if not re.match(USER_ID, user_id or ""):
        raise field_error("user", "a Slack user id looks like U012ABCDEF")
    return user_id


def issue_link(*, session: Session, user_id: str, now: datetime) -> str:
    """A new one-time token for this person; the caller turns it into a URL."""
    token = secrets.token_urlsafe(32)
    session.add(LoginLink(token_hash=token_hash(token), user_id=check_user_id(user_id), created_at=now,
                          expires_at=now + LINK_TTL))
    return token


def redeem_link(*, session: Session, token: str, now: datetime) -> tuple[str, WebSession]:
    """Use the link once and open a session: (session token, session row). A used, expired or unknown link is
    Forbidden with a sentence saying what to do."""
    digest = token_hash(token or "")
    moved = session.exec(update(LoginLink).where(  # type: ignore[call-overload]
        col(LoginLink.token_hash) == digest, col(LoginLink.used_at).is_(None), col(LoginLink.expires_at) > now,
    ).values(used_at=now)).rowcount
    link = session.get(LoginLink, digest, populate_existing=True)
    if not moved or link is None:
        raise Forbidden(_why_refused(link, now), extra={"user": link.user_id if link else None})
    secret = secrets.token_urlsafe(32)
    row = WebSession(token_hash=token_hash(secret), user_id=link.user_id, csrf_token=secrets.token_urlsafe(32),
                     created_at=now, expires_at=now + SESSION_TTL)
    session.add(row)
    session.flush()
    return secret, row


def _why_refused(link: LoginLink | None, now: datetime) -> str:
    """What went wrong; how to get a new link is the surface's to say (it differs in the demo)."""
    if link is None:
        return "This sign-in link is not one we issued."
    if link.used_at is not None:
        return "This sign-in link was already used; each link works once."
    return "This sign-in link has expired (links last 10 minutes)."


def live_session(*, session: Session, token: str, now: datetime) -> WebSession | None:
    """The session this cookie names, if it is neither expired nor signed out."""
    if not token:
        return None
    row = session.get(WebSession, token_hash(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    return row


def end_session(*, session: Session, token: str, now: datetime) -> WebSession | None:
    row = session.get(WebSession, token_hash(token or ""))
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now
    session.add(row)
    return row


def purge(*, session: Session, now: datetime) -> None:
    """Links a day past expiry and sessions ended or expired a day ago are of no further use."""
    cutoff = now - timedelta(days=1)
    session.exec(delete(LoginLink).where(col(LoginLink.expires_at) < cutoff))  # type: ignore[call-overload]
    session.exec(delete(WebSession).where(or_(col(WebSession.expires_at) < cutoff,  # type: ignore[call-overload]
                                              col(WebSession.ended_at) < cutoff)))


def has_expired_rows(*, session: Session, now: datetime) -> bool:
    cutoff = now - timedelta(days=1)
    link = session.exec(select(LoginLink.token_hash).where(col(LoginLink.expires_at) < cutoff).limit(1)).first()
    old = session.exec(select(WebSession.token_hash).where(or_(col(WebSession.expires_at) < cutoff,
                                                               col(WebSession.ended_at) < cutoff)).limit(1)).first()
    return link is not None or old is not None
