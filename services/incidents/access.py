"""Who may act on an incident (Acknowledge, Snooze, Resolve): the people it was routed to, and admins.

Routed to means: the agent's owner and backups (read now, so a handover takes effect), every user who got a
card, members of a user group a chain step names (or that got a card), and members of the channel a `channel`
step posts in. Whether someone is in a group or a channel only chat can tell: the caller asks and hands the
answer in as `Reach`; without it, only the people named outright and admins may act. The delegate of any of
those people who is away may act as they could (audited `person.acted_as_delegate`). The web app calls the
same rule. Refusals are audited (`incident.action_refused`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from services.agents.models import Agent
from services.audit.refusals import refuse
from services.context import AppContext
from services.db import require_id
from services.incidents import service
from services.incidents.models import Incident
from services.outbox.service import slack_message
from services.people import service as people_away
from services.people.flows import audit_delegate

REFUSED = "incident.action_refused"


def card_key(incident_id: int | None, recipient: str) -> str:
    """The outbox key of the card `recipient` got for this incident (edited in place as it changes)."""
    return f"incident:{incident_id}:{recipient}"


@dataclass(frozen=True)
class Routing:
    incident_id: int
    agent: str
    people: frozenset[str]
    groups: frozenset[str]
    channels: frozenset[str]
    cards: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (channel, ts) of each posted card
    stand_ins: frozenset[tuple[str, str]] = frozenset()  # (delegate, person away) for the people above


@dataclass(frozen=True)
class Reach:
    """What chat said about the person: which of the routing's groups and channels they are a member of."""

    groups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()


def _routing(session: Session, incident: Incident, now: datetime) -> Routing:
    agent = session.get(Agent, incident.agent_id)
    people = {r for r in incident.cards if r[:1] in ("U", "W")}
    groups = {r for r in incident.cards if r.startswith("S")}
    channels = {r for r in incident.cards if r[:1] in ("C", "G")}
    for step in incident.chain:
        target = str(step.get("notify") or "")
        if target.startswith("usergroup:"):
            groups.add(target.split(":", 1)[1])
        elif target == "channel" and agent is not None and agent.review_channel:
            channels.add(agent.review_channel)
    if agent is not None:
        people |= {agent.owner, *agent.backup_owners}
    posted = (slack_message(session=session, key=card_key(incident.id, r)) for r in incident.cards)
    cards = frozenset((p.channel, p.ts) for p in posted if p is not None)
    delegates = {p: people_away.delegate_for(session=session, user_id=p, now=now) for p in people}
    stand_ins = frozenset((delegate, p) for p, delegate in delegates.items() if delegate is not None)
    return Routing(require_id(incident.id), incident.agent_name, frozenset(people), frozenset(groups),
                   frozenset(channels), cards, stand_ins)


def routing_in(*, session: Session, incident: Incident, now: datetime) -> Routing:
    """The incident's routing read in the caller's session (a storm's card is routed as its lead)."""
    return _routing(session, incident, now)


def routing(*, ctx: AppContext, incident_id: int) -> Routing:
    """Who the incident went to and where its cards are, for the chat layer to resolve groups and channels."""
    with ctx.read() as session:
        return _routing(session, service.require(session=session, incident_id=incident_id), ctx.clock.now())


def why_not(route: Routing, *, user: str, admins: list[str], reach: Reach) -> str | None:
    """None when `user` may act on the incident; otherwise the sentence to show them."""
    if user in route.people or user in admins or delegate_of(route, user):
        return None
    if reach.groups & route.groups or reach.channels & route.channels:
        return None
    return (f"Sorry, only the people incident #{route.incident_id} was routed to (the owner and backups of "
            f"{route.agent}, and its escalation chain) or an admin can act on it.")


def delegate_of(route: Routing, user: str) -> list[str]:
    """The people away whom `user` stands in for on this incident."""
    return sorted(away for delegate, away in route.stand_ins if delegate == user)


def require_may_act(*, ctx: AppContext, incident_id: int, user: str, action: str, reach: Reach | None) -> None:
    """Raise Forbidden (audited) unless `user` may take `action` on the incident."""
    route = routing(ctx=ctx, incident_id=incident_id)
    why = why_not(route, user=user, admins=ctx.settings.admin_users, reach=reach or Reach())
    if why is not None:
        raise refuse(ctx=ctx, user=user, verb=REFUSED, subject=f"incident:{incident_id}", why=why,
                     details={"action": action})
    standing_in = [] if user in route.people or user in ctx.settings.admin_users else delegate_of(route, user)
    if standing_in:
        audit_delegate(ctx=ctx, user=user, delegate_of=standing_in, subject=f"incident:{incident_id}",
                       action=action)
