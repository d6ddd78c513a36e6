"""Storms: an agent failing fast pages its owner once, not once per incident.

The rule: a new incident joins its agent's storm when the agent already has at least
COUNTERSIGN_INCIDENT_STORM_AFTER open, unacknowledged (`triggered`) incidents opened within the last
COUNTERSIGN_INCIDENT_STORM_WINDOW_S seconds; 0 turns grouping off. A grouped incident is created as any other (its
own row and id, audit, `incident.opened`, dedup unchanged) but posts no card and no thread line of its own: each
recipient has ONE storm card, posted once and then updated in place.

Escalation is the storm's, not each incident's:
- the lead (the incident that started the storm) carries it: its notify steps post the storm card to a recipient
  who has none and nudge the ones who have;
- another grouped incident's notify steps only post the storm card to a recipient who has none yet (its chain may
  reach further than the lead's, e.g. a `high` in a storm led by a `low`), never a nudge, and it sends no
  acknowledger's reminder (the lead's covers the storm);
- pause steps run as they would alone: a critical incident's pause is never grouped away.
Acknowledge all (services.incidents.storm_flows) acknowledges each incident through the ordinary flow, so every
chain stops.

A storm takes new incidents while its lead is still triggered; once someone acknowledged (or resolved) the lead, the
next incident past the threshold starts a new storm, whose card pages again. Replicas: one storm per agent takes new
incidents (a unique index on open_agent_id), and a card is posted to a new recipient under the storm row's lock, so
two reports never post two cards.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.agents.models import Agent
from services.context import AppContext
from services.db import require_id
from services.incidents.models import Incident, IncidentStorm, StormPublic
from services.signin.addresses import base_url


def card_key(storm_id: int | None, recipient: str) -> str:
    """The outbox key of the storm card `recipient` got (edited in place as the storm grows and is answered)."""
    return f"storm:{storm_id}:{recipient}"


def get(*, session: Session, storm_id: int) -> IncidentStorm | None:
    return session.get(IncidentStorm, storm_id)


# --- the rule ------------------------------------------------------------------------------------------------
def past_threshold(*, session: Session, ctx: AppContext, agent_id: int, now: datetime) -> bool:
    """Whether the agent's next incident is grouped: enough triggered incidents opened within the window."""
    after = ctx.settings.incident_storm_after
    if after <= 0:
        return False
    since = now - timedelta(seconds=ctx.settings.incident_storm_window_s)
    recent = session.exec(select(Incident.id).where(Incident.agent_id == agent_id, Incident.status == "triggered",
                                                    col(Incident.created_at) >= since).limit(after)).all()
    return len(recent) >= after


def joinable(*, session: Session, agent_id: int) -> IncidentStorm | None:
    """The agent's storm that takes new incidents: the open one whose lead is still triggered. One whose lead was
    answered is ended here, so the next grouped incident starts a new storm."""
    found = session.exec(select(IncidentStorm, Incident.status)
                         .join(Incident, col(Incident.id) == col(IncidentStorm.lead_incident_id))
                         .where(IncidentStorm.open_agent_id == agent_id)).first()
    if found is None:
        return None
    storm, lead_status = found
    if lead_status == "triggered":
        return storm
    session.exec(update(IncidentStorm).where(col(IncidentStorm.id) == storm.id,  # type: ignore[call-overload]
                                             col(IncidentStorm.open_agent_id) == agent_id).values(open_agent_id=None))
    return None


def start(*, session: Session, agent: Agent, lead: Incident, now: datetime) -> IncidentStorm:
    """A new storm led by `lead` (already inserted); when another report started one a moment ago, that one."""
    storm = IncidentStorm(agent_id=require_id(agent.id), agent_name=agent.name, lead_incident_id=require_id(lead.id),
                          open_agent_id=agent.id, created_at=now, updated_at=now)
    try:
        if session.get_bind().dialect.name == "sqlite":  # the writer lock: no report can start one since the look
            session.add(storm)
            session.flush()
        else:
            with session.begin_nested():
                session.add(storm)
                session.flush()
    except IntegrityError:
        winner = session.exec(select(IncidentStorm).where(IncidentStorm.open_agent_id == agent.id)).first()
        if winner is None:
            raise
        storm = winner
    lead.storm_id = storm.id
    session.add(lead)
    return storm


# --- the cards -----------------------------------------------------------------------------------------------
def view(*, session: Session, ctx: AppContext, storm: IncidentStorm, newest: Incident | None = None) -> StormPublic:
    """The storm as its card shows it: one grouped count, plus the newest incident unless the caller holds it."""
    counts = session.exec(select(Incident.severity, Incident.status, Incident.acked_by, func.count(),
                                 func.min(Incident.created_at), func.max(Incident.created_at))
                          .where(Incident.storm_id == storm.id)
                          .group_by(Incident.severity, Incident.status, Incident.acked_by)).all()
    if newest is None:
        newest = session.exec(select(Incident).where(Incident.storm_id == storm.id)
                              .order_by(col(Incident.id).desc()).limit(1)).first()
    severities: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for severity, status, _, n, _, _ in counts:
        severities[severity] = severities.get(severity, 0) + n
        statuses[status] = statuses.get(status, 0) + n
    acked_by = sorted({who for _, _, who, _, _, _ in counts if who})
    now = ctx.clock.now()
    first = min((row[4] for row in counts), default=now)
    last = max((row[5] for row in counts), default=now)
    link = f"{base_url(session=session, settings=ctx.settings)}/app/incidents?agent={quote(storm.agent_name)}"
    return StormPublic(id=require_id(storm.id), agent=storm.agent_name, lead_incident_id=storm.lead_incident_id,
                       incidents=sum(severities.values()), first_at=first, newest_at=last,
                       newest_summary=newest.summary if newest is not None else "", severities=severities,
                       statuses=statuses, acknowledged_by=acked_by[:5], link=link)


def post_missing(*, session: Session, ctx: AppContext, storm: IncidentStorm, pairs: list[tuple[str, str]],
                 now: datetime, newest: Incident | None = None) -> list[str]:
    """Post the storm card to each (recipient, channel) that has none yet; returns who got one.

    Under the storm row's lock, looked at again: two grouped incidents reaching the same new recipient at once
    post one card."""
    if all(recipient in storm.cards for recipient, _ in pairs):
        return []
    held = session.get(IncidentStorm, require_id(storm.id), with_for_update=True, populate_existing=True)
    assert held is not None
    fresh = {recipient: channel for recipient, channel in pairs if recipient not in held.cards}
    if not fresh:
        return []
    shown = view(session=session, ctx=ctx, storm=held, newest=newest)
    for recipient, channel in fresh.items():
        ctx.notifier.storm_card(session=session, storm=shown, recipient=recipient, channel=channel, now=now)
    held.cards = {**held.cards, **fresh}
    held.updated_at = now
    session.add(held)
    return list(fresh)


def refresh(*, session: Session, ctx: AppContext, storm_id: int, now: datetime,
            newest: Incident | None = None) -> None:
    """Redraw every card of the storm (the outbox folds a burst of redraws into one edit per card)."""
    storm = get(session=session, storm_id=storm_id)
    if storm is None or not storm.cards:
        return
    ctx.notifier.storm_refresh(session=session, storm=view(session=session, ctx=ctx, storm=storm, newest=newest),
                               cards=dict(storm.cards), now=now)


def notify(*, session: Session, ctx: AppContext, incident: Incident, pairs: list[tuple[str, str]], now: datetime,
           at_open: bool) -> None:
    """A grouped incident's notify step: the storm card to whoever has none; a nudge only from the lead's chain,
    and not at open (the card went out a moment ago)."""
    storm = get(session=session, storm_id=require_id(incident.storm_id))
    if storm is None:
        return
    posted = post_missing(session=session, ctx=ctx, storm=storm, pairs=pairs, now=now,
                          newest=incident if at_open else None)
    if at_open or storm.lead_incident_id != incident.id:
        return
    known = [(recipient, channel) for recipient, channel in pairs if recipient not in posted]
    if known:
        shown = view(session=session, ctx=ctx, storm=storm)
        for recipient, _ in known:
            ctx.notifier.storm_nudge(session=session, storm=shown, recipient=recipient,
                                     channel=storm.cards.get(recipient, recipient), now=now)


def reminds(*, session: Session, incident: Incident) -> bool:
    """Whether an acknowledged incident reminds its acknowledger: alone, or as its storm's lead."""
    if incident.storm_id is None:
        return True
    storm = get(session=session, storm_id=incident.storm_id)
    return storm is None or storm.lead_incident_id == incident.id


def sizes(*, session: Session, storm_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Each storm's lead incident and how many incidents it holds (the web app's count per storm)."""
    if not storm_ids:
        return {}
    counts = dict(session.exec(select(Incident.storm_id, func.count()).where(col(Incident.storm_id).in_(storm_ids))
                               .group_by(Incident.storm_id)).all())
    leads = session.exec(select(IncidentStorm.id, IncidentStorm.lead_incident_id)
                         .where(col(IncidentStorm.id).in_(storm_ids))).all()
    return {storm_id: (lead, counts.get(storm_id, 0)) for storm_id, lead in leads if storm_id is not None}
