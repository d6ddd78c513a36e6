"""Run side effects: a halt opens a `halted` incident for the owner; the owner's choice (from the Slack card, the
web app or the CLI, all through decide_halt) goes back to the agent as a signed `run.halt_decision` callback; a
beat after a halt, or the run finishing, is reported on the incident and resolves it, which stops its escalation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.audit.refusals import refuse
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import claim_due, require_id
from services.errors import Conflict, NotFound, field_error
from services.incidents import flows as incident_flows
from services.incidents import service as incidents
from services.incidents.escalation import anything_due
from services.outbox.service import enqueue_callback
from services.runs import service
from services.runs.models import LIVE, Finish, Run, RunCreate

WATCHDOG = Actor.system("run-watchdog")


def start_run(*, session: Session, ctx: AppContext, agent: Agent, data: RunCreate) -> tuple[Run, bool]:
    """A new run, or (with the agent's own run_id) the open run of that run_id: (run, created)."""
    if data.run_id:
        existing = service.open_run(session=session, agent_id=require_id(agent.id), run_id=data.run_id)
        if existing is not None:
            return existing, False
    now = ctx.clock.now()
    run = service.start(session=session, agent_id=require_id(agent.id), data=data, now=now)
    # The subject is the internal id (an agent's run_id may be longer than a subject); the details name both.
    record(session=session, actor=Actor.agent(agent.name), verb="run.started", subject=f"run:{run.id}", now=now,
           details={"run_id": run.run_id, "name": run.name, "every_s": run.expect_heartbeat_every_s,
                    "grace_s": run.grace_s})
    return run, True


def heartbeat(*, ctx: AppContext, agent: Agent, run_id: str, step: str | None) -> Run:
    with ctx.uow() as session:
        now = ctx.clock.now()
        run = service.require_for_agent(session=session, agent_id=require_id(agent.id), run_id=run_id)
        if service.beat(session=session, run=run, step=step, now=now) == "recovered":
            run = service.require_for_agent(session=session, agent_id=require_id(agent.id), run_id=run_id)
            record(session=session, actor=Actor.agent(agent.name), verb="run.recovered", subject=f"run:{run.id}",
                   now=now, details={"step": run.last_step})
            if run.incident_id is not None:
                incident_flows.note_on_incident(
                    session=session, ctx=ctx, incident_id=run.incident_id, verb="run_came_back", actor=agent.name,
                    note=f"a heartbeat arrived after the halt, at step {run.last_step or '?'}",
                    details={"came_back_at": now.isoformat(), "came_back_step": run.last_step})
                incident_flows.resolve_for_cause(
                    session=session, ctx=ctx, incident_id=run.incident_id, actor=Actor.agent(agent.name),
                    note=f"the run came back (heartbeat at step {run.last_step or '?'})")
        return service.require_for_agent(session=session, agent_id=require_id(agent.id), run_id=run_id)


def finish_run(*, ctx: AppContext, agent: Agent, run_id: str, data: Finish) -> Run:
    with ctx.uow() as session:
        now = ctx.clock.now()
        run = service.require_for_agent(session=session, agent_id=require_id(agent.id), run_id=run_id)
        run = service.finish(session=session, run=run, status=data.status, step=data.step, note=data.note, now=now)
        record(session=session, actor=Actor.agent(agent.name), verb=f"run.{data.status}", subject=f"run:{run.id}",
               now=now, details={"step": run.last_step})
        if run.incident_id is not None:
            incident_flows.note_on_incident(session=session, ctx=ctx, incident_id=run.incident_id,
                                            verb="run_finished", actor=agent.name, note=data.status,
                                            details={"run_finished": data.status})
            incident_flows.resolve_for_cause(session=session, ctx=ctx, incident_id=run.incident_id,
                                             actor=Actor.agent(agent.name), note=f"the run finished: {data.status}")
        return run


def watch_runs(ctx: AppContext, *, batch: int = 100) -> int:
    """The dead-man's switch: every live run past its deadline is halted once and its owner paged."""
    if not anything_due(ctx, Run.id, col(Run.deadline_at), col(Run.status).in_(LIVE)):
        return 0
    with ctx.uow() as session:
        now = ctx.clock.now()
        due = claim_due(session, select(Run).where(col(Run.status).in_(LIVE), col(Run.deadline_at) <= now)
                        .order_by(col(Run.deadline_at)), limit=batch)
        for run in due:
            _halt(session, ctx, run, now)
        return len(due)


def _halt(session: Session, ctx: AppContext, run: Run, now: datetime) -> None:
    reason = service.halt(session=session, run=run, now=now)
    agent = session.get(Agent, run.agent_id)
    if reason is None or agent is None:
        return
    silence = int((now - (run.last_beat_at or run.started_at)).total_seconds())
    why = (f"ran past its max duration of {run.max_duration_s}s" if reason == "max_duration"
           else f"sent no heartbeat for {silence}s (expected every {run.expect_heartbeat_every_s}s + "
                f"{run.grace_s}s grace)")
    label = run.name or run.run_id
    details: dict[str, Any] = {"run_id": run.run_id, "run_name": run.name, "last_step": run.last_step,
                               "reason": reason, "halt_policy": run.halt_policy,
                               "last_beat_at": run.last_beat_at.isoformat() if run.last_beat_at else None}
    result = incident_flows.open_incident(
        session=session, ctx=ctx, agent=agent, kind="halted", severity="high",
        summary=f"Run {label} halted: it {why}. Last step reached: {run.last_step or 'none reported'}.",
        details=details, dedup_key=f"run:{run.id}", run_id=run.run_id, actor=WATCHDOG)
    if not result.created:  # halted again while the first incident is open: fresh facts, fresh choice
        incident_flows.note_on_incident(session=session, ctx=ctx, incident_id=require_id(result.incident.id),
                                        verb="run_halted_again", actor=WATCHDOG.id, note=why,
                                        details={**details, "came_back_at": None, "halt_decision": None})
    record(session=session, actor=WATCHDOG, verb="run.halted", subject=f"run:{run.id}", now=now,
           details={"reason": reason, "last_step": run.last_step, "incident": result.incident.id})
    service.link_incident(session=session, run_id=run.id, incident_id=require_id(result.incident.id))


def _halted_run(session: Session, incident_id: int) -> tuple[Run, Agent]:
    incident = incidents.require(session=session, incident_id=incident_id)
    run = session.exec(select(Run).where(Run.agent_id == incident.agent_id, Run.run_id == incident.run_id)
                       ).first() if incident.run_id else None
    agent = session.get(Agent, run.agent_id) if run is not None else None
    if run is None or agent is None or incident.kind != "halted":
        raise NotFound(f"incident #{incident_id} is not about a halted run")
    return run, agent


def decide_halt(*, ctx: AppContext, incident_id: int, choice: str, user: str, via: str = "slack") -> Run:
    """The owner's answer to a halt, delivered to the agent as a signed `run.halt_decision` callback. Who may
    answer is service.may_decide; a refusal is audited. `via`: the surface it came through (slack, web, cli)."""
    with ctx.read() as session:
        run, agent = _halted_run(session, incident_id)
    if not service.may_decide(agent=agent, user=user, admins=ctx.settings.admin_users):
        raise refuse(ctx=ctx, user=user, verb="run.halt_decision_refused", subject=f"run:{run.id}",
                     details={"choice": choice, "via": via},
                     why=f"Sorry, only {agent.name}'s owner, a backup owner or an admin can decide what the run does.")
    if choice not in run.halt_policy:
        raise field_error("choice", f"this run's halt policy allows {', '.join(run.halt_policy)}")
    with ctx.uow() as session:
        now = ctx.clock.now()
        incident = incidents.require(session=session, incident_id=incident_id)
        run = service.decide(session=session, run=run, choice=choice, user=user, now=now)
        data = {"run_id": run.run_id, "name": run.name, "decision": choice, "decided_by": user,
                "decided_at": now.isoformat(), "incident_id": incident_id, "last_step": run.last_step,
                "status": run.status, "metadata": run.meta}
        if agent.callback_url:
            enqueue_callback(session=session, agent_id=require_id(agent.id), url=agent.callback_url,
                             event="run.halt_decision", data=data, now=now, order_key=f"run:{run.id}")
        record(session=session, actor=Actor.slack_user(user), verb="run.halt_decided", subject=f"run:{run.id}",
               now=now, details={"decision": choice, "delivered": bool(agent.callback_url), "via": via})
        note = choice if agent.callback_url else f"{choice} (the agent has no callback_url; it must poll the run)"
        incident_flows.note_on_incident(session=session, ctx=ctx, incident_id=incident_id, verb="halt_decision",
                                        actor=user, note=note,
                                        details={"halt_decision": choice, "halt_decided_by": user})
        if incident.status in ("triggered", "snoozed"):  # a decision is an acknowledgement: stop paging
            incident_flows.acknowledge_in(session=session, ctx=ctx, incident_id=incident_id, user=user)
        return run


def decide_run(*, ctx: AppContext, run_ref: str, choice: str, user: str, via: str) -> Run:
    """The web app's and the CLI's way in: a run (by its id or the agent's run_id) instead of its incident."""
    with ctx.read() as session:
        run = service.find(session=session, ref=run_ref)
    if run.incident_id is None:
        raise Conflict(f"run {run.run_id!r} has not halted; there is nothing to decide")
    return decide_halt(ctx=ctx, incident_id=run.incident_id, choice=choice, user=user, via=via)
