"""Draft jobs: reminders before expiry, then expiry itself. Both claim due rows, so replicas can share them,
and both look first in a read-only session, so an idle tick never takes SQLite's writer lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.audit.service import Actor, record
from services.context import AppContext
from services.db import claim_due
from services.drafts import claims, escalation, service
from services.drafts.flows import agent_of, announce
from services.drafts.models import Draft
from services.drafts.recording import card_data
from services.jobs import Job

Handle = Callable[[Session, Draft, datetime], bool]


def _each_due(ctx: AppContext, query: Callable[[datetime], Any], handle: Handle) -> int:
    """Claim the due drafts and handle each, in one transaction; returns how many were handled."""
    now = ctx.clock.now()
    with ctx.read() as session:
        if session.exec(query(now).limit(1)).first() is None:
            return 0
    with ctx.uow() as session:
        return sum(handle(session, draft, now) for draft in claim_due(session, query(now), limit=100))


def expire_due(ctx: AppContext) -> int:
    """Pending drafts past their expiry become `expired` ("denied: timed out, do not retry"); agents are told."""

    def expire(session: Session, draft: Draft, now: datetime) -> bool:
        if not service.expire(session=session, draft=draft, now=now):
            return False  # decided meanwhile
        announce(session=session, ctx=ctx, agent=agent_of(session, draft.agent_id), draft=draft,
                 actor=Actor.system("drafts.expire"), now=now)
        return True

    done = _each_due(ctx, service.expiry_due, expire)
    if done:
        ctx.decision_wakeup.fire()
    return done


def remind_due(ctx: AppContext) -> int:
    """At the reminder point: a reply in the card's thread for the channel, and a DM telling the owner; a
    claimed draft reminds its claimer alone (they said they are on it; the channel is not paged past them)."""

    def remind(session: Session, draft: Draft, now: datetime) -> bool:
        if not service.mark_reminded(session=session, draft_id=draft.id):
            return False  # another replica got there first
        agent = agent_of(session, draft.agent_id)
        card = card_data(session, draft, agent, where=True)
        to = [draft.claimed_by] if draft.claimed_by else [agent.owner]
        ctx.notifier.draft_reminder(session=session, agent=agent, draft=card, to=to,
                                    broadcast=draft.claimed_by is None, now=now)
        record(session=session, actor=Actor.system("drafts.remind"), verb="draft.reminded", subject=draft.card_key,
               now=now, details={"owner": agent.owner, "to": to})
        return True

    return _each_due(ctx, service.reminder_due, remind)


JOBS = [
    Job("drafts.remind", remind_due),
    Job("drafts.expire", expire_due),
    Job("drafts.release_lapsed_claims", claims.release_lapsed),
    Job("drafts.escalate", escalation.escalate_due),
]
