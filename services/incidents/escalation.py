"""The escalation engine: the one timer per incident (next_step_at), the steps it takes, and the job.

Replicas: due rows are claimed FOR UPDATE SKIP LOCKED (PostgreSQL) or under SQLite's writer lock, so while a
tick holds an incident no other tick takes it, and an ack from another replica waits for the tick to commit,
then finds the incident's state as the tick left it. One step per incident per claim; the next step's time is
counted from now, so a step found long overdue after downtime is taken once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from services.agents import flows as agent_flows
from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import claim_due
from services.incidents import service, storms
from services.incidents.models import Incident

ESCALATION = Actor.system("escalation")


def point(incident: Incident, index: int, round_: int, now: datetime) -> None:
    incident.step_index, incident.round, incident.next_step_at = service.point_after(
        chain=incident.chain, index=index, round_=round_, repeat=incident.chain_repeat, now=now)


def _recipients(agent: Agent, target: str) -> list[tuple[str, str]]:
    """(recipient, channel) pairs for a notify step; people are read now, so a handover takes effect."""
    if target == "owner":
        return [(agent.owner, agent.owner)]
    if target == "backups":
        return [(person, person) for person in agent.backup_owners]
    if not agent.review_channel:
        return []
    if target == "channel":
        return [(agent.review_channel, agent.review_channel)]
    return [(target.split(":", 1)[1], agent.review_channel)]  # usergroup:S…: mentioned in the review channel


def run_step(*, session: Session, ctx: AppContext, incident: Incident, agent: Agent, now: datetime,
             at_open: bool = False) -> dict[str, Any]:
    """Take the one step the incident points at, log it in the card's thread, point at the next; returns
    what was done, for the audit entry the caller writes."""
    step, round_ = incident.chain[incident.step_index], incident.round
    # The incident's own changes come first, so the outbox's flushes below carry them in the same statements.
    point(incident, incident.step_index + 1, incident.round, now)
    incident.updated_at = now
    session.add(incident)
    targets: list[str] = []
    if service.step_kind(step) == "pause_agent":
        changed = agent_flows.pause_agent(session=session, ctx=ctx, agent=agent, actor=ESCALATION,
                                          reason=f"incident #{incident.id}: {incident.summary}"[:500])
        verb, note = ("paused_agent" if changed else "already_paused"), None
    else:
        pairs = _recipients(agent, step["notify"])
        if incident.storm_id is not None:  # grouped: the storm's card pages, not the incident's own
            storms.notify(session=session, ctx=ctx, incident=incident, pairs=pairs, now=now, at_open=at_open)
        else:
            _notify(session, ctx, incident, pairs, now, at_open)
        targets = [recipient for recipient, _ in pairs]
        verb, note = ("notified", step["notify"]) if pairs else ("skipped", f"no {step['notify']} configured")
    event = service.add_event(session=session, incident=incident, kind="step", verb=verb, actor=ESCALATION.id,
                              targets=targets, note=note, now=now)
    ctx.notifier.incident_log(session=session, incident=incident, event=event, now=now)
    return {"incident": incident.id, "step": step, "round": round_, "did": verb, "targets": targets}


def _notify(session: Session, ctx: AppContext, incident: Incident, pairs: list[tuple[str, str]], now: datetime,
            at_open: bool) -> None:
    fresh = [(r, c) for r, c in pairs if r not in incident.cards]
    known = [r for r, _ in pairs if r in incident.cards]
    incident.cards = {**incident.cards, **dict(fresh)}
    for recipient, channel in fresh:
        ctx.notifier.incident_card(session=session, incident=incident, recipient=recipient, channel=channel, now=now)
    for recipient in [] if at_open else known:  # at open the owner's card went out a moment ago: no second ping
        ctx.notifier.incident_nudge(session=session, incident=incident, recipient=recipient, now=now)


def escalation_tick(ctx: AppContext, *, batch: int = 100, rounds: int = 10) -> int:
    """Take every due step, one per incident per claim; returns how many claims were worked.

    A step followed by no wait is due again at once and taken in the next round, so a chain of
    notifications goes out within one tick while a long-overdue step still goes out only once.
    """
    done = 0
    for _ in range(rounds):
        if not anything_due(ctx, Incident.id, col(Incident.next_step_at)):
            break
        with ctx.uow() as session:
            now = ctx.clock.now()
            due = claim_due(session, select(Incident).where(col(Incident.next_step_at) <= now)
                            .order_by(col(Incident.next_step_at)), limit=batch)
            if not due:
                break
            # One query for the agents, held here: the session's identity map alone would drop and re-read them.
            agents = {a.id: a for a in session.exec(select(Agent).where(col(Agent.id).in_({i.agent_id for i in due})))}
            taken = [step for incident in due if (step := _due(session, ctx, incident, agents.get(incident.agent_id),
                                                               now))]
            if taken:  # one audit entry per claim, listing every incident's step
                record(session=session, actor=ESCALATION, verb="incident.escalated", subject="incidents", now=now,
                       details={"steps": taken})
        done += len(due)
    return done


def anything_due(ctx: AppContext, table: Any, due_at: Any, *where: Any) -> bool:
    """A read-only look first: on SQLite an idle tick then never takes the writer lock from requests."""
    with ctx.read() as session:
        return session.exec(select(table).where(due_at <= ctx.clock.now(), *where).limit(1)).first() is not None


def _due(session: Session, ctx: AppContext, incident: Incident, agent: Agent | None,
         now: datetime) -> dict[str, Any] | None:
    """The row is held by this claim, so its status is current: plain writes, no race."""
    if incident.status == "triggered" and agent is not None:
        return run_step(session=session, ctx=ctx, incident=incident, agent=agent, now=now)
    if incident.status == "snoozed":
        incident.status, incident.snoozed_until, incident.acked_by, incident.acked_at = "triggered", None, None, None
        point(incident, 0, 0, now)  # escalate again from the top
        incident.updated_at = now
        session.add(incident)
        log(session, ctx, incident, kind="info", verb="snooze_ended", actor=ESCALATION.id, now=now)
        return {"incident": incident.id, "did": "snooze_ended"}
    if incident.status == "acknowledged" and incident.acked_by and storms.reminds(session=session, incident=incident):
        ctx.notifier.incident_reminder(session=session, incident=incident, user=incident.acked_by, now=now)
        incident.next_step_at = None
        session.add(incident)
        service.add_event(session=session, incident=incident, kind="info", verb="reminded", actor=ESCALATION.id,
                          targets=[incident.acked_by], now=now)
        return {"incident": incident.id, "did": "reminded", "targets": [incident.acked_by]}
    # Resolved, its agent gone, or grouped and acknowledged (the storm's lead reminds): nothing left to do; clear
    # the timer rather than claim it forever.
    incident.next_step_at = None
    session.add(incident)
    return None


def log(session: Session, ctx: AppContext, incident: Incident, *, kind: str, verb: str, actor: str, now: datetime,
        note: str | None = None, targets: list[str] | None = None) -> None:
    """Record an action, redraw every card and add a line to the thread."""
    event = service.add_event(session=session, incident=incident, kind=kind, verb=verb, actor=actor, now=now,
                              note=note, targets=targets)
    ctx.notifier.incident_refresh(session=session, incident=incident, now=now)
    ctx.notifier.incident_log(session=session, incident=incident, event=event, now=now)
    if incident.storm_id is not None:  # its counts on the storm card changed too
        storms.refresh(session=session, ctx=ctx, storm_id=incident.storm_id, now=now)
