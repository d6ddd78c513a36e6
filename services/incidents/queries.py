"""Reads for people-facing views: incidents of a set of agents, open ones first, and one incident's history."""

from __future__ import annotations

from sqlmodel import Session, col, select

from services.incidents.models import OPEN_STATUSES, Incident, IncidentEvent


def of_agents(*, session: Session, agent_ids: list[int], closed_limit: int = 20) -> list[Incident]:
    """Every open incident of these agents (oldest first), then the most recently resolved ones."""
    if not agent_ids:
        return []
    scope = col(Incident.agent_id).in_(agent_ids)
    still_open = session.exec(select(Incident).where(scope, col(Incident.status).in_(OPEN_STATUSES))
                              .order_by(col(Incident.id))).all()
    closed = session.exec(select(Incident).where(scope, Incident.status == "resolved")
                          .order_by(col(Incident.resolved_at).desc()).limit(closed_limit)).all()
    return [*still_open, *closed]


def history(*, session: Session, incident_ids: list[int]) -> dict[int, list[IncidentEvent]]:
    if not incident_ids:
        return {}
    found: dict[int, list[IncidentEvent]] = {i: [] for i in incident_ids}
    for event in session.exec(select(IncidentEvent).where(col(IncidentEvent.incident_id).in_(incident_ids))
                              .order_by(col(IncidentEvent.id))).all():
        found[event.incident_id].append(event)
    return found
