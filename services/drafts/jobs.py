"""Draft jobs: reminders before expiry, then expiry itself. Both claim due rows, so replicas can share them,
and both look first in a read-only session, so an idle tick never takes SQLite's writer lock."""

from __future__ import annotations

from typing import Any

from services.audit.service import Actor, record
from services.context import AppContext
from services.db import claim_due
from services.drafts import service
from services.drafts.flows import agent_of, announce, card_data, permalink
from services.scheduler import Job


def _anything_due(ctx: AppContext, statement: Any) -> bool:
    with ctx.read() as session:
        return session.exec(statement.limit(1)).first() is not None


def expire_due(ctx: AppContext) -> int:
    """Pending drafts past their expiry become `expired` ("denied: timed out, do not retry"); agents are told."""
    now = ctx.clock.now()
    if not _anything_due(ctx, service.expiry_due(now)):
        return 0
    done = 0
    with ctx.uow() as session:
        for draft in claim_due(session, service.expiry_due(now), limit=100):
            if service.expire(session=session, draft=draft, now=now):
                announce(session=session, ctx=ctx, agent=agent_of(session, draft.agent_id), draft=draft,
                         actor=Actor.system("drafts.expire"), now=now)
                done += 1
    ctx.decision_wakeup.fire()
    return done


def remind_due(ctx: AppContext) -> int:
    """At the reminder point: a reply in the card's thread for the channel, and a DM telling the owner."""
    now = ctx.clock.now()
    if not _anything_due(ctx, service.reminder_due(now)):
        return 0
    done = 0
    with ctx.uow() as session:
        for draft in claim_due(session, service.reminder_due(now), limit=100):
            if not service.mark_reminded(session=session, draft_id=draft.id):
                continue
            agent = agent_of(session, draft.agent_id)
            card = {**card_data(session, draft, agent), "link": permalink(session=session, key=draft.card_key)}
            ctx.notifier.draft_reminder(session=session, agent=agent, draft=card, now=now)
            record(session=session, actor=Actor.system("drafts.remind"), verb="draft.reminded",
                   subject=draft.card_key, now=now, details={"owner": agent.owner})
            done += 1
    return done


JOBS = [
    Job("drafts.remind", remind_due),
    Job("drafts.expire", expire_due),
]
