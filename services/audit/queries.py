"""Reading the audit log for people: one subject's trail, and the log filtered by agent and subject.

Entries name their subject as `agent:<name>`, `draft:<id>`, `incident:<id>` and so on; an agent's entries are
those about it, its drafts and its incidents, and those it made itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, literal, or_
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.audit.models import AuditEntry
from services.db import require_id
from services.drafts.models import Draft
from services.incidents.models import Incident


def trail(*, session: Session, subject: str, limit: int = 200) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.subject == subject)
                             .order_by(col(AuditEntry.id)).limit(limit)).all())


def about_agents(agents: list[Agent]) -> Any:
    """A WHERE clause: entries about these agents, their drafts or incidents, or made by them."""
    ids = [require_id(a.id) for a in agents]
    names = [a.name for a in agents]
    if not ids:
        return literal(False)
    drafts = select(literal("draft:") + col(Draft.id)).where(col(Draft.agent_id).in_(ids))
    incidents = select(literal("incident:") + cast(col(Incident.id), String)).where(col(Incident.agent_id).in_(ids))
    return or_(col(AuditEntry.subject).in_([f"agent:{n}" for n in names]),
               col(AuditEntry.subject).in_(drafts), col(AuditEntry.subject).in_(incidents),
               (col(AuditEntry.actor_type) == "agent") & col(AuditEntry.actor_id).in_(names))


def entries(*, session: Session, agents: list[Agent] | None, subject: str | None = None, before: int | None = None,
            limit: int = 100) -> list[AuditEntry]:
    """Newest first. `agents` None: every entry (admins); otherwise only entries about those agents."""
    statement = select(AuditEntry)
    if agents is not None:
        statement = statement.where(about_agents(agents))
    if subject:
        statement = statement.where(col(AuditEntry.subject).startswith(subject) if subject.endswith(":")
                                    else AuditEntry.subject == subject)
    if before is not None:
        statement = statement.where(col(AuditEntry.id) < before)
    return list(session.exec(statement.order_by(col(AuditEntry.id).desc()).limit(limit)).all())
