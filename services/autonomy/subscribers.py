"""Autonomy listens to drafts (evidence, samples) and incidents (an incident against an action demotes it)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services import events
from services.agents.models import Agent
from services.autonomy import flows
from services.context import AppContext


@events.subscribe("draft.decided")
def count_evidence(*, session: Session, ctx: AppContext, agent: Agent, draft: Any, **_: Any) -> None:
    flows.on_decided(session=session, ctx=ctx, agent=agent, draft=draft)


@events.subscribe("incident.opened")
def demote_on_incident(*, session: Session, ctx: AppContext, agent: Agent, incident: Any, **_: Any) -> None:
    flows.on_incident(session=session, ctx=ctx, agent=agent, incident=incident)
