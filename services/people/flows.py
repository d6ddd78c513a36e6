"""People away, as every surface calls it: the CLI (as the operator), the admin API, the web app and App Home
(as the person, or an admin for someone else). Who may set whom away is decided here; refusals are audited."""

from __future__ import annotations

from datetime import datetime

from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.people import service
from services.people.models import AwayPublic


def _may_set(ctx: AppContext, *, by: str, user_id: str, verb: str) -> None:
    """A person sets their own absence; an admin may set anyone's."""
    if by == user_id or by in ctx.settings.admin_users:
        return
    raise refuse(ctx=ctx, user=by, verb=verb, subject=f"person:{user_id}",
                 why="only the person themselves or an admin can change who stands in for them")


def set_away(*, ctx: AppContext, user_id: str, until: datetime, delegate: str, actor: Actor,
             by: str | None = None) -> AwayPublic:
    """`by`: the Slack user asking (web, App Home), checked; None: the admin token or the CLI's operator."""
    if by is not None:
        _may_set(ctx, by=by, user_id=user_id, verb="person.away_refused")
    with ctx.uow() as session:
        row = service.set_away(session=session, user_id=user_id, until=until, delegate=delegate, actor=actor,
                               now=ctx.clock.now())
        return AwayPublic.of(row)


def set_back(*, ctx: AppContext, user_id: str, actor: Actor, by: str | None = None) -> AwayPublic:
    if by is not None:
        _may_set(ctx, by=by, user_id=user_id, verb="person.back_refused")
    with ctx.uow() as session:
        return AwayPublic.of(service.set_back(session=session, user_id=user_id, actor=actor, now=ctx.clock.now()))


def list_away(*, ctx: AppContext) -> list[AwayPublic]:
    with ctx.read() as session:
        return [AwayPublic.of(r) for r in service.list_away(session=session, now=ctx.clock.now())]


def status(*, ctx: AppContext, user_id: str) -> tuple[AwayPublic | None, list[str]]:
    """Whether `user_id` is away, and whom they stand in for now."""
    now = ctx.clock.now()
    with ctx.read() as session:
        row = service.away(session=session, user_id=user_id, now=now)
        return (AwayPublic.of(row) if row else None), service.stands_in_for(session=session, user_id=user_id, now=now)


def audit_delegate(*, ctx: AppContext, user: str, delegate_of: list[str], subject: str, action: str) -> None:
    """A person acts only because they stand in for someone away: say so in the audit log."""
    with ctx.uow() as session:
        record(session=session, actor=Actor.slack_user(user), verb="person.acted_as_delegate", subject=subject,
               now=ctx.clock.now(), details={"action": action, "as_delegate_of": delegate_of,
                                             "note": "as delegate of " + ", ".join(delegate_of)})
