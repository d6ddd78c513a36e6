"""Incident side effects: opening (with dedup) and people's actions on a card (the steps are in escalation.py).

Everything here writes through the caller's session: cards, thread lines and pauses go to the outbox in the
same transaction as the state change, so a crash never leaves a step half-taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.agents.models import Agent
from services.audit.service import Actor, record
from services.context import AppContext
from services.db import require_id
from services.errors import AlreadyDecided, field_error
from services.incidents import access, service, storms
from services.incidents.escalation import log, point, run_step
from services.incidents.models import OPEN_STATUSES, SEVERITIES, Incident, IncidentStorm

NOTE_MAX = 3000


@dataclass(frozen=True)
class OpenResult:
    incident: Incident
    created: bool  # False: an open incident with the same dedup_key took the report as one more occurrence


def open_incident(*, session: Session, ctx: AppContext, agent: Agent, kind: str, severity: str, summary: str,
                  details: dict[str, Any] | None = None, dedup_key: str | None = None, run_id: str | None = None,
                  trace_url: str | None = None, actor: Actor | None = None) -> OpenResult:
    """Open an incident and page the owner, or count one more occurrence of the open one with this dedup_key.

    Runs in the caller's transaction. The owner's card is written at once; the chain's later steps are due
    at `next_step_at` and taken by the escalation job.
    """
    if severity not in SEVERITIES:
        raise field_error("severity", f"must be one of {', '.join(SEVERITIES)}")
    if not kind or not summary or not summary.strip():
        raise field_error("summary" if kind else "kind", "must not be blank")
    now, actor = ctx.clock.now(), actor or Actor.system("incidents")
    key = dedup_key.strip() if dedup_key and dedup_key.strip() else None
    if key is not None:
        existing = service.find_open_by_dedup(session=session, agent_id=require_id(agent.id), dedup_key=key)
        if existing is not None:
            return OpenResult(_recur(session, ctx, existing, actor, now), created=False)
    chain, repeat = service.chain_for(agent=agent, severity=severity)
    # Decided before the insert, so the incident is not among those it counts and a joiner's storm_id is inserted
    # with it; a storm this incident starts is written once it has an id.
    grouped = storms.past_threshold(session=session, ctx=ctx, agent_id=require_id(agent.id), now=now)
    storm = storms.joinable(session=session, agent_id=require_id(agent.id)) if grouped else None
    incident = Incident(agent_id=require_id(agent.id), agent_name=agent.name, kind=kind[:64], severity=severity,
                        summary=summary[:1000], details=dict(details or {}), dedup_key=key, open_dedup_key=key,
                        run_id=run_id, trace_url=trace_url, chain=chain, chain_repeat=repeat, opened_by=actor.id,
                        created_at=now, updated_at=now, last_occurred_at=now,
                        storm_id=storm.id if storm is not None else None)
    try:
        if session.get_bind().dialect.name == "sqlite":  # the writer lock: no report can insert since the look
            session.add(incident)
            session.flush()
        else:
            with session.begin_nested():  # a concurrent report with the same key may win the unique index
                session.add(incident)
                session.flush()
    except IntegrityError:
        existing = service.find_open_by_dedup(session=session, agent_id=require_id(agent.id), dedup_key=key or "")
        if existing is None:
            raise
        return OpenResult(_recur(session, ctx, existing, actor, now), created=False)
    if grouped and storm is None:
        storm = storms.start(session=session, agent=agent, lead=incident, now=now)
    service.add_event(session=session, incident=incident, kind="info", verb="opened", actor=actor.id, now=now,
                      note=summary[:300])
    steps = _start(session, ctx, incident, agent, now) if storm is None else _join(session, ctx, incident, agent,
                                                                                     storm, now)
    opened = {"agent": agent.name, "kind": kind, "severity": severity, "dedup_key": key, "steps": steps}
    record(session=session, actor=actor, verb="incident.opened", subject=f"incident:{incident.id}", now=now,
           details=opened if storm is None else {**opened, "storm": storm.id})
    ctx.events.publish("incident.opened", session=session, ctx=ctx, agent=agent, incident=incident)
    return OpenResult(incident, created=True)


def _recur(session: Session, ctx: AppContext, incident: Incident, actor: Actor, now: datetime) -> Incident:
    """Same problem again while it is open: count it and redraw the cards, but page nobody."""
    incident = service.bump_occurrences(session=session, incident_id=require_id(incident.id), now=now)
    record(session=session, actor=actor, verb="incident.recurred", subject=f"incident:{incident.id}", now=now,
           details={"occurrences": incident.occurrences})
    ctx.notifier.incident_refresh(session=session, incident=incident, now=now)
    return incident


def _start(session: Session, ctx: AppContext, incident: Incident, agent: Agent, now: datetime) -> list[dict[str, Any]]:
    """The owner hears first, by DM; then the chain's leading steps (e.g. pause, for critical) run at once."""
    ctx.notifier.incident_card(session=session, incident=incident, recipient=agent.owner, channel=agent.owner, now=now)
    incident.cards, incident.thread_owner = {agent.owner: agent.owner}, agent.owner
    return _leading_steps(session, ctx, incident, agent, now)


def _join(session: Session, ctx: AppContext, incident: Incident, agent: Agent, storm: IncidentStorm,
          now: datetime) -> list[dict[str, Any]]:
    """A grouped incident: the owner hears through the storm card (posted once, else redrawn), with no card or
    thread line of its own; its leading steps still run (a critical incident's pause is never grouped away)."""
    posted = storms.post_missing(session=session, ctx=ctx, storm=storm, pairs=[(agent.owner, agent.owner)], now=now,
                                 newest=incident)
    steps = _leading_steps(session, ctx, incident, agent, now)
    if not posted:
        storms.refresh(session=session, ctx=ctx, storm_id=require_id(storm.id), now=now, newest=incident)
    return steps


def _leading_steps(session: Session, ctx: AppContext, incident: Incident, agent: Agent,
                   now: datetime) -> list[dict[str, Any]]:
    """The chain's leading steps (e.g. pause, for critical) run at once; the rest are due at next_step_at."""
    point(incident, 0, 0, now)
    steps = []
    for _ in range(len(incident.chain)):
        if incident.next_step_at is None or incident.next_step_at > now:
            break
        steps.append(run_step(session=session, ctx=ctx, incident=incident, agent=agent, now=now, at_open=True))
    session.add(incident)
    session.flush()
    return steps


# --- people acting on a card ---------------------------------------------------------------------------------
def acknowledge(*, ctx: AppContext, incident_id: int, user: str, reach: access.Reach | None = None) -> Incident:
    """`reach`: the routed groups and channels chat found the person in (see access); None: none."""
    access.require_may_act(ctx=ctx, incident_id=incident_id, user=user, action="acknowledge", reach=reach)
    with ctx.uow() as session:
        return acknowledge_in(session=session, ctx=ctx, incident_id=incident_id, user=user)


def acknowledge_in(*, session: Session, ctx: AppContext, incident_id: int, user: str) -> Incident:
    """Acknowledge inside the caller's transaction (e.g. a halt decision also acknowledges)."""
    now = ctx.clock.now()
    incident = service.acknowledge(session=session, incident_id=incident_id, user=user, now=now,
                                   remind_after_s=ctx.settings.ack_remind_s)
    _acted(session, ctx, incident, "acknowledged", user, now)
    return incident


def resolve(*, ctx: AppContext, incident_id: int, user: str, note: str | None = None,
            reach: access.Reach | None = None) -> Incident:
    if note is not None and len(note) > NOTE_MAX:  # the modal's own limit, held on every path
        raise field_error("note", f"at most {NOTE_MAX:,} characters")
    access.require_may_act(ctx=ctx, incident_id=incident_id, user=user, action="resolve", reach=reach)
    with ctx.uow() as session:
        now = ctx.clock.now()
        incident = service.resolve(session=session, incident_id=incident_id, user=user, now=now, note=note)
        _acted(session, ctx, incident, "resolved", user, now, note=note)
        return incident


def snooze(*, ctx: AppContext, incident_id: int, user: str, seconds: int,
           reach: access.Reach | None = None) -> Incident:
    access.require_may_act(ctx=ctx, incident_id=incident_id, user=user, action="snooze", reach=reach)
    with ctx.uow() as session:
        now = ctx.clock.now()
        incident = service.snooze(session=session, incident_id=incident_id, user=user, seconds=seconds, now=now)
        _acted(session, ctx, incident, "snoozed", user, now, note=f"for {seconds // 60} min")
        return incident


def _acted(session: Session, ctx: AppContext, incident: Incident, verb: str, user: str, now: datetime,
           note: str | None = None) -> None:
    record(session=session, actor=Actor.slack_user(user), verb=f"incident.{verb}", subject=f"incident:{incident.id}",
           now=now, details={"note": note} if note else None)
    log(session, ctx, incident, kind="action", verb=verb, actor=user, now=now, note=note)


def note_on_incident(*, session: Session, ctx: AppContext, incident_id: int, verb: str, actor: str,
                     note: str | None = None, details: dict[str, Any] | None = None) -> Incident | None:
    """Another domain adds a line to an incident (e.g. a halted run came back) and redraws its cards."""
    incident = service.get(session=session, incident_id=incident_id)
    if incident is None:
        return None
    now = ctx.clock.now()
    if details:
        incident.details = {**incident.details, **details}
        incident.updated_at = now
        session.add(incident)
        session.flush()
    log(session, ctx, incident, kind="info", verb=verb, actor=actor, now=now, note=note)
    return incident


def resolve_for_cause(*, session: Session, ctx: AppContext, incident_id: int, actor: Actor,
                      note: str) -> Incident | None:
    """Another domain resolves an incident whose cause went away (a halted run beat again, or finished): its
    escalation stops (no next step), and the cards and thread say why. None when it was already resolved."""
    incident = service.get(session=session, incident_id=incident_id)
    if incident is None or incident.status not in OPEN_STATUSES:
        return None
    now = ctx.clock.now()
    try:
        incident = service.resolve(session=session, incident_id=incident_id, user=actor.id, now=now, note=note)
    except AlreadyDecided:  # a person resolved it in the same moment: theirs stands
        return None
    record(session=session, actor=actor, verb="incident.resolved", subject=f"incident:{incident.id}", now=now,
           details={"note": note})
    log(session, ctx, incident, kind="action", verb="resolved", actor=actor.id, now=now, note=note)
    return incident
