"""Sign-in side effects: issue a link (audited), redeem it into a session (audited, refusals too), sign out.

Also the one place a web refusal of a person is written to the audit log (`refused`), so that every view
that says no leaves the same trace as a refused Slack click.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.audit.refusals import audit_refusal
from services.audit.service import Actor, record
from services.context import AppContext
from services.errors import Forbidden
from services.signin import addresses, service
from services.signin.models import WebSession


def issue_link(*, ctx: AppContext, user_id: str, actor: Actor) -> str:
    """A one-time sign-in URL for this person (10 minutes, single use)."""
    with ctx.uow() as session:
        return issue_link_in(session=session, ctx=ctx, user_id=user_id, actor=actor)


def issue_link_in(*, session: Session, ctx: AppContext, user_id: str, actor: Actor) -> str:
    """The same in the caller's transaction (the chat layer sends the link in the one that issues it)."""
    token = service.issue_link(session=session, user_id=user_id, now=ctx.clock.now())
    record(session=session, actor=actor, verb="web.link_issued", subject=f"user:{user_id}", now=ctx.clock.now(),
           details={"expires_in_s": int(service.LINK_TTL.total_seconds())})
    return f"{addresses.base_url(session=session, settings=ctx.settings)}/app/login/{token}"


def sign_in(*, ctx: AppContext, token: str) -> tuple[str, WebSession]:
    """Redeem a link: (session token, session). A refused link is audited, then Forbidden is raised."""
    try:
        with ctx.uow() as session:
            secret, row = service.redeem_link(session=session, token=token, now=ctx.clock.now())
            record(session=session, actor=Actor.slack_user(row.user_id), verb="web.signed_in",
                   subject=f"user:{row.user_id}", now=ctx.clock.now())
            return secret, row
    except Forbidden as refusal:
        user = (refusal.extra or {}).get("user")
        refused(ctx=ctx, user_id=str(user) if user else None, subject="web:login", why=refusal.detail)
        raise


def current(*, ctx: AppContext, token: str | None) -> WebSession | None:
    if not token:
        return None
    with ctx.read() as session:
        return service.live_session(session=session, token=token, now=ctx.clock.now())


def sign_out(*, ctx: AppContext, token: str) -> None:
    with ctx.uow() as session:
        row = service.end_session(session=session, token=token, now=ctx.clock.now())
        if row is not None:
            record(session=session, actor=Actor.slack_user(row.user_id), verb="web.signed_out",
                   subject=f"user:{row.user_id}", now=ctx.clock.now())


def refused(*, ctx: AppContext, user_id: str | None, subject: str, why: str,
            details: dict[str, Any] | None = None) -> None:
    """Audit a refusal of a person in the web app (an anonymous one is recorded as such)."""
    actor = Actor.slack_user(user_id) if user_id else Actor("anonymous", "web")
    audit_refusal(ctx=ctx, actor=actor, verb="web.refused", subject=subject[:128], why=why[:500], details=details)
