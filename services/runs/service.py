"""Run rules and queries. Beats, halts, recoveries and decisions are conditional UPDATEs: a beat racing the
watchdog either lands before the halt (and moves the deadline) or after it (and counts as the run coming back)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.agents.service import may_pause
from services.errors import AlreadyDecided, Conflict, NotFound
from services.runs.models import FINISHED, LIVE, Run, RunCreate


def deadline(run: Run) -> datetime:
    """Silence past this means halted: the next beat is late, or the whole run took too long."""
    due = (run.last_beat_at or run.started_at) + timedelta(seconds=run.expect_heartbeat_every_s + run.grace_s)
    if run.max_duration_s and run.halt_reason != "max_duration":  # a run that came back is not halted twice for it
        due = min(due, run.started_at + timedelta(seconds=run.max_duration_s))
    return due


def open_run(*, session: Session, agent_id: int, run_id: str) -> Run | None:
    """The agent's run with this run_id if it has not finished (running, halted or recovered)."""
    run = session.exec(select(Run).where(Run.agent_id == agent_id, Run.run_id == run_id)).first()
    return run if run is not None and run.status not in FINISHED else None


def start(*, session: Session, agent_id: int, data: RunCreate, now: datetime) -> Run:
    """A new run. The caller checks `open_run` first; a finished run's run_id is refused here (409), and two
    concurrent starts with one run_id meet on the unique key."""
    internal = "run_" + secrets.token_hex(12)
    run_id = data.run_id or internal
    if data.run_id and session.exec(select(Run.id).where(Run.agent_id == agent_id, Run.run_id == run_id)).first():
        raise Conflict(f"run {run_id!r} has already finished; start the next run with a new run_id")
    run = Run(id=internal, run_id=run_id, agent_id=agent_id, name=data.name, meta=dict(data.metadata or {}),
              expect_heartbeat_every_s=data.expect_heartbeat_every_s, grace_s=data.grace_s,
              max_duration_s=data.max_duration_s, halt_policy=list(data.halt_policy), last_step=data.step,
              started_at=now)
    run.deadline_at = deadline(run)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        raise Conflict(f"run {run_id!r} was started by another request just now; retry to get it") from None
    return run


def require_for_agent(*, session: Session, agent_id: int, run_id: str) -> Run:
    """By the agent's run_id; another agent's run is indistinguishable from a missing one."""
    run = session.exec(select(Run).where(Run.agent_id == agent_id, Run.run_id == run_id)
                       .execution_options(populate_existing=True)).first()
    if run is None:
        raise NotFound(f"no run {run_id[:130]!r}")
    return run


def find(*, session: Session, ref: str) -> Run:
    """A run for people (web, CLI): by its id, else by an agent's run_id when only one agent has a run by it."""
    run = session.get(Run, ref[:40], populate_existing=True)
    if run is not None:
        return run
    named = session.exec(select(Run).where(Run.run_id == ref[:128]).limit(2)).all()
    if len(named) > 1:
        raise Conflict(f"several agents have a run {ref[:130]!r}; use the run's id (run_…) from `countersign runs "
                       "list`")
    if not named:
        raise NotFound(f"no run {ref[:130]!r}")
    return named[0]


def may_decide(*, agent: Agent, user: str, admins: list[str]) -> bool:
    """Who answers a halted run (resume, abort, hand over): its agent's owner, a backup owner or an admin, as
    for pausing the agent, on every surface."""
    return may_pause(agent=agent, user_id=user, admins=admins)


def open_choices(run: Run) -> list[str]:
    """What may still be chosen for this run: its halt policy, once it has halted, until someone chose or it
    finished."""
    if run.halts and run.halt_decision is None and run.status not in FINISHED:
        return list(run.halt_policy)
    return []


def _update(session: Session, run_id: str, *where: Any, **values: Any) -> bool:
    result = session.exec(update(Run).where(col(Run.id) == run_id, *where).values(**values))  # type: ignore[call-overload]
    return bool(result.rowcount)


def beat(*, session: Session, run: Run, step: str | None, now: datetime) -> str:
    """Record a beat; returns 'beat', or 'recovered' when it is the first beat after a halt."""
    step = step if step is not None else run.last_step
    probe = run.model_copy(update={"last_beat_at": now})
    if _update(session, run.id, col(Run.status).in_(LIVE), last_step=step, last_beat_at=now, beats=Run.beats + 1,
               deadline_at=deadline(probe)):
        return "beat"
    current = session.get(Run, run.id, populate_existing=True)
    assert current is not None
    if current.status == "halted":
        probe = current.model_copy(update={"last_beat_at": now})
        if _update(session, run.id, col(Run.status) == "halted", status="recovered", recovered_at=now,
                   last_step=step, last_beat_at=now, beats=Run.beats + 1, deadline_at=deadline(probe)):
            return "recovered"
    raise Conflict(f"run {run.run_id!r} is already {current.status}; start a new run instead")


def finish(*, session: Session, run: Run, status: str, step: str | None, note: str | None, now: datetime) -> Run:
    if not _update(session, run.id, col(Run.status).notin_(FINISHED), status=status, finished_at=now,
                   deadline_at=None, last_step=step if step is not None else run.last_step, finish_note=note):
        current = session.get(Run, run.id, populate_existing=True)
        raise Conflict(f"run {run.run_id!r} is already {current.status if current else 'gone'}")
    refreshed = session.get(Run, run.id, populate_existing=True)
    assert refreshed is not None
    return refreshed


def halt(*, session: Session, run: Run, now: datetime) -> str | None:
    """Mark a run halted if it still is overdue; returns the reason, or None when something beat us to it."""
    over = run.max_duration_s and run.halt_reason != "max_duration" and \
        now >= run.started_at + timedelta(seconds=run.max_duration_s)
    reason = "max_duration" if over else "heartbeat"
    done = _update(session, run.id, col(Run.status).in_(LIVE), col(Run.deadline_at) <= now, status="halted",
                   halted_at=now, halt_reason=reason, halts=Run.halts + 1, deadline_at=None, halt_decision=None,
                   halt_decided_by=None, halt_decided_at=None)
    return reason if done else None


def decide(*, session: Session, run: Run, choice: str, user: str, now: datetime) -> Run:
    if not _update(session, run.id, col(Run.halt_decision).is_(None), col(Run.halts) > 0,
                   col(Run.status).notin_(FINISHED), halt_decision=choice, halt_decided_by=user, halt_decided_at=now):
        current = session.get(Run, run.id, populate_existing=True)
        if current is not None and current.halt_decision:
            raise AlreadyDecided(f"{current.halt_decided_by} already chose {current.halt_decision!r} for this run")
        raise Conflict(f"run {run.run_id!r} is {current.status if current else 'gone'}; there is nothing to decide")
    refreshed = session.get(Run, run.id, populate_existing=True)
    assert refreshed is not None
    return refreshed


def link_incident(*, session: Session, run_id: str, incident_id: int) -> None:
    _update(session, run_id, incident_id=incident_id)
