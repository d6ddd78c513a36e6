"""Reads for people (the web app's /app/runs and `countersign runs`): runs waiting for an answer first, and one
run with its agent, its halt incident, what may still be chosen and its history (the run's audit trail)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.audit.models import AuditEntry
from services.audit.queries import trail
from services.incidents.models import Incident
from services.runs import service
from services.runs.models import Run

RECENT = 100


@dataclass(frozen=True)
class RunLine:
    run: Run
    agent: str
    choices: list[str]  # what may still be chosen (empty: nothing waits for a person)


@dataclass(frozen=True)
class RunDetail:
    run: Run
    agent: Agent
    incident: Incident | None
    choices: list[str]
    history: list[AuditEntry]


def listing(*, session: Session, agent_ids: list[int] | None = None, limit: int = RECENT) -> list[RunLine]:
    """Halted runs first (longest halted first), then the most recently started others. `agent_ids`: only
    these agents' runs (None: every agent's)."""
    scope = [col(Run.agent_id).in_(agent_ids)] if agent_ids is not None else []
    halted = session.exec(select(Run).where(Run.status == "halted", *scope)
                          .order_by(col(Run.halted_at)).limit(limit)).all()
    others = session.exec(select(Run).where(Run.status != "halted", *scope)
                          .order_by(col(Run.started_at).desc()).limit(max(0, limit - len(halted)))).all()
    runs = [*halted, *others]
    names = {a.id: a.name for a in session.exec(select(Agent).where(col(Agent.id).in_({r.agent_id for r in runs})))}
    return [RunLine(r, names.get(r.agent_id, f"agent #{r.agent_id}"), service.open_choices(r)) for r in runs]


def detail(*, session: Session, run: Run) -> RunDetail:
    agent = session.get(Agent, run.agent_id)
    assert agent is not None  # agents are never deleted
    incident = session.get(Incident, run.incident_id) if run.incident_id is not None else None
    return RunDetail(run, agent, incident, service.open_choices(run),
                     trail(session=session, subject=f"run:{run.id}"))
