"""Incidents Countersign opens by itself from other domains' events: a streak of rejected drafts.

Wired to `draft.decided` in services/wiring.py; runs after the decision commits, in a transaction of its own."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.agents.models import Agent
from services.audit.service import Actor
from services.context import AppContext
from services.db import require_id
from services.incidents import flows, service

RESETS_STREAK = ("approved", "edited", "auto_approved")  # expired and cancelled say nothing about quality
STREAK_KEY = "repeated_rejections"


def count_rejections(*, session: Session, ctx: AppContext, agent: Agent, draft: Any, **_: Any) -> None:
    """N rejections in a row (COUNTERSIGN_REJECTION_STREAK) open one `repeated_rejections` incident.

    The streak restarts once the incident opens; further streaks while it is open only raise its occurrences.
    """
    status = getattr(draft, "status", None)
    if status != "rejected" and status not in RESETS_STREAK:
        return
    action = getattr(draft, "action", None)
    now = ctx.clock.now()
    streak = service.count_decision(session=session, agent_id=require_id(agent.id), rejected=status == "rejected",
                                    action=action, now=now)
    if streak < ctx.settings.rejection_streak:
        return
    service.reset_streak(session=session, agent_id=require_id(agent.id), now=now)
    flows.open_incident(
        session=session, ctx=ctx, agent=agent, kind="repeated_rejections", severity="high",
        summary=f"{streak} drafts in a row were rejected (last action: {action or 'unknown'})",
        details={"action": action, "streak": streak, "last_draft_id": getattr(draft, "id", None)},
        dedup_key=STREAK_KEY, actor=Actor.system("rejection-streak"))
