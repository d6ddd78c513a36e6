"""People acting on a storm card: Acknowledge all and Pause agent, each through the flow its incident card uses.

Acknowledge all runs the ordinary acknowledge flow once per open incident of the storm, each with its own access
check, audit entry and transaction, so each chain stops as if acknowledged on its own card. A person refused on
the first is refused once (audited) and told why; one refused on a later incident (another severity's chain
reaches other people) is counted in the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session, col, select

from services.context import AppContext
from services.errors import AlreadyDecided, Forbidden, NotFound
from services.incidents import access, flows, people, service, storms
from services.incidents.models import Incident, IncidentStorm
from services.outbox.service import slack_message


@dataclass(frozen=True)
class AckAll:
    acknowledged: int
    already: int  # someone had acknowledged (or resolved) it first
    refused: int


def _require(session: Session, storm_id: int) -> IncidentStorm:
    storm = storms.get(session=session, storm_id=storm_id)
    if storm is None:
        raise NotFound(f"no incident storm #{storm_id}")
    return storm


def routing(*, ctx: AppContext, storm_id: int) -> access.Routing:
    """The lead incident's routing, with the storm's cards as the cards a click may come from."""
    with ctx.read() as session:
        storm = _require(session, storm_id)
        lead = service.require(session=session, incident_id=storm.lead_incident_id)
        route = access.routing_in(session=session, incident=lead, now=ctx.clock.now())
        posted = (slack_message(session=session, key=storms.card_key(storm.id, r)) for r in storm.cards)
        return replace(route, cards=frozenset((p.channel, p.ts) for p in posted if p is not None))


def still_open(*, ctx: AppContext, storm_id: int) -> list[int]:
    """The storm's incidents nobody has acknowledged yet (triggered or snoozed), oldest (the lead) first."""
    with ctx.read() as session:
        _require(session, storm_id)
        return list(session.exec(select(Incident.id).where(Incident.storm_id == storm_id,
                                                           col(Incident.status).in_(("triggered", "snoozed")))
                                 .order_by(col(Incident.id))).all())


def acknowledge_all(*, ctx: AppContext, storm_id: int, user: str, reach: access.Reach | None = None) -> AckAll:
    acknowledged = already = refused = 0
    for incident_id in still_open(ctx=ctx, storm_id=storm_id):
        try:
            flows.acknowledge(ctx=ctx, incident_id=incident_id, user=user, reach=reach)
            acknowledged += 1
        except AlreadyDecided:
            already += 1
        except Forbidden:
            if not acknowledged and not refused:
                raise  # the first says it for all: one refusal audited, and the person is told why
            refused += 1
    return AckAll(acknowledged, already, refused)


def pause_agent(*, ctx: AppContext, storm_id: int, user: str) -> tuple[str, bool]:
    """The storm card's Pause agent: the lead's card button, with the same owner-backups-admins rule."""
    with ctx.read() as session:
        lead_id = _require(session, storm_id).lead_incident_id
    return people.pause_from_incident(ctx=ctx, incident_id=lead_id, user=user)
