"""Incident rules and queries: keyword-only, session first, no I/O beyond the database.

Every lifecycle move is one conditional UPDATE (`... WHERE status IN (...)`) checked by its row count, so two
clicks on two replicas can't both win, and an ack that lands while the escalation job holds the row waits for
the job's transaction and then stops the chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.db import require_id
from services.errors import AlreadyDecided, NotFound, field_error
from services.incidents.models import OPEN_STATUSES, SNOOZE_CHOICES_S, Incident, IncidentEvent, RejectionStreak

DEFAULT_REPEAT_GAP_S = 600


def step_kind(step: dict[str, Any]) -> str:
    """'notify', 'wait_s' or 'pause_agent': the one key a stored step carries."""
    for key in ("notify", "wait_s", "pause_agent"):
        if step.get(key) is not None:
            return key
    raise ValueError(f"not an escalation step: {step!r}")


def chain_for(*, agent: Agent, severity: str) -> tuple[list[dict[str, Any]], int]:
    """The chain and repeat count an incident of this severity starts with (copied, then never re-read).

    `low` stops after the owner. `critical` on the default chain pauses the agent first; a chain the agent
    configured is taken as written.
    """
    if severity == "low":
        return [{"notify": "owner"}], 1
    chain = [{k: v for k, v in step.items() if v is not None} for step in agent.chain()]
    if severity == "critical" and not agent.escalation_chain:
        chain = [{"pause_agent": True}, *chain]
    return chain, 1 + max(0, agent.escalation_repeat or 0)  # escalation_repeat counts passes after the first


def point_after(*, chain: list[dict[str, Any]], index: int, round_: int, repeat: int,
                now: datetime) -> tuple[int, int, datetime | None]:
    """Where the chain goes from position `index`: the next action step, when it is due, and the round.

    Waits between here and that step add up; the time counts from `now` (not from when the step was due),
    so a step found long overdue after downtime runs once and the rest of the chain keeps its spacing.
    When the chain runs out it starts again (up to `repeat` rounds), after its trailing waits or a gap.
    """
    wait, wrapped = 0, False
    while True:
        if index >= len(chain):
            round_ += 1
            if round_ >= repeat or wrapped:
                return len(chain), round_, None
            wrapped = True
            index, wait = 0, wait or _repeat_gap(chain)
            continue
        step = chain[index]
        if step_kind(step) == "wait_s":
            wait += int(step["wait_s"])
            index += 1
            continue
        return index, round_, now + timedelta(seconds=wait)


def _repeat_gap(chain: list[dict[str, Any]]) -> int:
    waits = [int(s["wait_s"]) for s in chain if step_kind(s) == "wait_s"]
    return max(waits) if waits else DEFAULT_REPEAT_GAP_S


# --- queries -------------------------------------------------------------------------------------------------
def get(*, session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id, populate_existing=True)


def require(*, session: Session, incident_id: int) -> Incident:
    incident = get(session=session, incident_id=incident_id)
    if incident is None:
        raise NotFound(f"no incident #{incident_id}")
    return incident


def require_for_agent(*, session: Session, agent_id: int, incident_id: int) -> Incident:
    """An agent sees only its own incidents; another's is indistinguishable from a missing one."""
    incident = get(session=session, incident_id=incident_id)
    if incident is None or incident.agent_id != agent_id:
        raise NotFound(f"no incident #{incident_id}")
    return incident


def find_open_by_dedup(*, session: Session, agent_id: int, dedup_key: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.agent_id == agent_id,
                                               Incident.open_dedup_key == dedup_key)).first()


def open_incidents_for(*, session: Session, agent_id: int) -> list[Incident]:
    return list(session.exec(select(Incident).where(Incident.agent_id == agent_id,
                                                    col(Incident.status).in_(OPEN_STATUSES))
                             .order_by(col(Incident.id))).all())


def has_open_critical(*, session: Session, agent_id: int) -> bool:
    found = session.exec(select(Incident.id).where(Incident.agent_id == agent_id, Incident.severity == "critical",
                                                   col(Incident.status).in_(OPEN_STATUSES)).limit(1)).first()
    return found is not None


def open_incidents_of_agents(*, session: Session, agent_ids: list[int]) -> list[Incident]:
    if not agent_ids:
        return []
    return list(session.exec(select(Incident).where(col(Incident.agent_id).in_(agent_ids),
                                                    col(Incident.status).in_(OPEN_STATUSES))
                             .order_by(col(Incident.id))).all())


def events_of(*, session: Session, incident_id: int) -> list[IncidentEvent]:
    return list(session.exec(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                             .order_by(col(IncidentEvent.id))).all())


ADDED = "incidents.events_added"  # Session.info: the events this session added, held for events_written


def events_written(*, session: Session, incident_id: int) -> list[IncidentEvent]:
    """The incident's events this session added (all of a new incident's), in the order written: what
    `events_of` would read back."""
    session.flush()
    return [event for event in session.info.get(ADDED, []) if event.incident_id == incident_id]


def add_event(*, session: Session, incident: Incident, kind: str, verb: str, actor: str, now: datetime,
              targets: list[str] | None = None, note: str | None = None) -> IncidentEvent:
    event = IncidentEvent(incident_id=require_id(incident.id), at=now, kind=kind, verb=verb, actor=actor,
                          targets=list(targets or []), note=note[:3000] if note else None)
    session.add(event)  # no flush: the tick's rows go out together at commit
    session.info.setdefault(ADDED, []).append(event)
    return event


# --- lifecycle: conditional updates --------------------------------------------------------------------------
def _move(session: Session, incident_id: int, allowed: tuple[str, ...], **values: Any) -> bool:
    result = session.exec(update(Incident).where(col(Incident.id) == incident_id, col(Incident.status).in_(allowed))  # type: ignore[call-overload]
                          .values(**values))
    return bool(result.rowcount)


def _refused(session: Session, incident_id: int, doing: str) -> AlreadyDecided:
    current = require(session=session, incident_id=incident_id)
    who = current.resolved_by if current.status == "resolved" else current.acked_by
    by = f" by {who}" if who else ""
    return AlreadyDecided(f"incident #{incident_id} is already {current.status}{by}; nothing to {doing}")


def acknowledge(*, session: Session, incident_id: int, user: str, now: datetime, remind_after_s: int) -> Incident:
    """Stops the chain; the timer now means 'remind the acknowledger if still unresolved'."""
    if not _move(session, incident_id, ("triggered", "snoozed"), status="acknowledged", acked_by=user, acked_at=now,
                 snoozed_until=None, next_step_at=now + timedelta(seconds=remind_after_s), updated_at=now):
        raise _refused(session, incident_id, "acknowledge")
    return require(session=session, incident_id=incident_id)


def resolve(*, session: Session, incident_id: int, user: str, now: datetime, note: str | None) -> Incident:
    if not _move(session, incident_id, OPEN_STATUSES, status="resolved", resolved_by=user, resolved_at=now,
                 resolution_note=(note or None) and note[:3000], next_step_at=None, open_dedup_key=None,
                 updated_at=now):
        raise _refused(session, incident_id, "resolve")
    return require(session=session, incident_id=incident_id)


def snooze(*, session: Session, incident_id: int, user: str, seconds: int, now: datetime) -> Incident:
    if seconds not in SNOOZE_CHOICES_S:
        raise field_error("snooze", f"choose one of {', '.join(str(s // 60) + ' min' for s in SNOOZE_CHOICES_S)}")
    until = now + timedelta(seconds=seconds)
    if not _move(session, incident_id, ("triggered", "acknowledged", "snoozed"), status="snoozed",
                 snoozed_until=until, next_step_at=until, updated_at=now):
        raise _refused(session, incident_id, "snooze")
    return require(session=session, incident_id=incident_id)


def bump_occurrences(*, session: Session, incident_id: int, now: datetime) -> Incident:
    session.exec(update(Incident).where(col(Incident.id) == incident_id)  # type: ignore[call-overload]
                 .values(occurrences=Incident.occurrences + 1, last_occurred_at=now, updated_at=now))
    return require(session=session, incident_id=incident_id)


# --- repeated rejections -------------------------------------------------------------------------------------
def count_decision(*, session: Session, agent_id: int, rejected: bool, action: str | None, now: datetime) -> int:
    """Extend (rejected) or reset the agent's rejection streak; returns its new length."""
    row = session.get(RejectionStreak, agent_id, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():  # two first decisions at once: one inserts, the other waits and reads it
                session.add(RejectionStreak(agent_id=agent_id, count=0, updated_at=now))
                session.flush()
        except IntegrityError:
            pass
        row = session.get(RejectionStreak, agent_id, with_for_update=True, populate_existing=True)
        assert row is not None
    row.count = row.count + 1 if rejected else 0
    row.last_action, row.updated_at = action, now
    session.flush()
    return row.count


def reset_streak(*, session: Session, agent_id: int, now: datetime) -> None:
    row = session.get(RejectionStreak, agent_id)
    if row is not None:
        row.count, row.updated_at = 0, now
        session.add(row)
