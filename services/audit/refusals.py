"""Every refusal of a person is audited, like a refused draft decision: who, what they tried, on what, and why.

A refusal is recorded in a transaction of its own, opened after the caller's reading one closed (SQLite's single
writer lock is never asked for twice) and committed even though the action itself is not: the attempt is the
fact worth keeping. The caller raises what `refuse` returns.
"""

from __future__ import annotations

from typing import Any

from services.audit.service import Actor, record
from services.audit.tally import Refusal
from services.context import AppContext
from services.errors import CountersignError, Forbidden


def audit_refusal(*, ctx: AppContext, actor: Actor, verb: str, subject: str, why: str,
                  details: dict[str, Any] | None = None) -> None:
    with ctx.uow() as session:
        record(session=session, actor=actor, verb=verb, subject=subject, now=ctx.clock.now(),
               details={"why": why, **(details or {})})


def refuse(*, ctx: AppContext, user: str, verb: str, subject: str, why: str,
           details: dict[str, Any] | None = None, error: CountersignError | None = None) -> CountersignError:
    """Audit the refusal and return the error to raise (a Forbidden saying `why`, unless another is given)."""
    audit_refusal(ctx=ctx, actor=Actor.slack_user(user), verb=verb, subject=subject,
                  why=error.detail if error else why, details=details)
    return error or Forbidden(why)


def audit_repeated(*, ctx: AppContext, source: str, refusal: Refusal) -> None:
    """Audit a refusal of someone known only by where they come from (a client address): at most one entry per
    source and verb a minute, carrying how many refusals it stands for (services.audit.tally)."""
    count = ctx.refusal_tally.note(source, refusal, ctx.clock.now())
    if count is not None:
        write_counted(ctx, source, count, refusal)


def write_due_refusals(ctx: AppContext) -> int:
    """The job: write the counts that waited a minute for a next refusal that did not come."""
    due = ctx.refusal_tally.due(ctx.clock.now())
    for source, count, refusal in due:
        write_counted(ctx, source, count, refusal)
    return len(due)


def write_counted(ctx: AppContext, source: str, count: int, refusal: Refusal) -> None:
    audit_refusal(ctx=ctx, actor=refusal.actor, verb=refusal.verb, subject=refusal.subject, why=refusal.why,
                  details={**refusal.details, "source": source, "count": count})
