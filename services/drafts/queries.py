"""Reads for people-facing views: one draft with its agent, and drafts of a set of agents."""

from __future__ import annotations

from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.drafts.models import PENDING, Draft


def with_agent(*, session: Session, draft_id: str) -> tuple[Draft, Agent] | None:
    draft = session.get(Draft, draft_id[:64], populate_existing=True)
    agent = session.get(Agent, draft.agent_id) if draft is not None else None
    return (draft, agent) if draft is not None and agent is not None else None


def recent_decided(*, session: Session, agents: list[Agent], limit: int = 20) -> list[tuple[Draft, Agent]]:
    """The latest decided drafts of these agents, newest decision first."""
    by_id = {a.id: a for a in agents}
    if not by_id:
        return []
    rows = session.exec(select(Draft).where(col(Draft.agent_id).in_(list(by_id)), Draft.status != PENDING)
                        .order_by(col(Draft.decided_at).desc(), col(Draft.id)).limit(limit)).all()
    return [(d, by_id[d.agent_id]) for d in rows]


def pending_of(*, session: Session, agents: list[Agent], limit: int = 200) -> list[tuple[Draft, Agent]]:
    """Pending drafts of these agents, oldest first (what an owner watches without deciding)."""
    by_id = {a.id: a for a in agents}
    if not by_id:
        return []
    rows = session.exec(select(Draft).where(col(Draft.agent_id).in_(list(by_id)), Draft.status == PENDING)
                        .order_by(col(Draft.created_at), col(Draft.id)).limit(limit)).all()
    return [(d, by_id[d.agent_id]) for d in rows]
