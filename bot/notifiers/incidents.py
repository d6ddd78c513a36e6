"""IncidentNotifier over the outbox: a card per recipient keyed `incident:<id>:<recipient>`, updated in place,
and a log thread under the owner's card."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import incidents as blocks
from bot.notifiers import outbox
from services.agents.models import Agent
from services.incidents import access, storms
from services.incidents.models import EventPublic, Incident, IncidentEvent, IncidentPublic, StormPublic


def card_key(incident: Incident, recipient: str) -> str:
    return access.card_key(incident.id, recipient)


def view(incident: Incident) -> IncidentPublic:
    """What a card shows: the public view (the step log lives in the thread, not on the card)."""
    return IncidentPublic.of(incident, [])


class IncidentSlackNotifier:
    def incident_card(self, *, session: Session, incident: Incident, recipient: str, channel: str,
                      now: datetime) -> None:
        outbox.post(session, channel=channel, msg=blocks.incident_card(view(incident), recipient=recipient), now=now,
                    key=card_key(incident, recipient), urgent=True)

    def incident_refresh(self, *, session: Session, incident: Incident, now: datetime) -> None:
        for recipient in incident.cards:
            outbox.update(session, key=card_key(incident, recipient), now=now, channel=incident.cards[recipient],
                          msg=blocks.incident_card(view(incident), recipient=recipient))

    def incident_log(self, *, session: Session, incident: Incident, event: IncidentEvent, now: datetime) -> None:
        owner = incident.thread_owner
        if owner is None or owner not in incident.cards:
            return
        line = blocks.log_line(EventPublic.model_validate(event, from_attributes=True))
        outbox.post(session, channel=incident.cards[owner], msg=line, now=now, thread_key=card_key(incident, owner))

    def incident_nudge(self, *, session: Session, incident: Incident, recipient: str, now: datetime) -> None:
        outbox.post(session, channel=incident.cards.get(recipient, recipient), now=now,
                    msg=blocks.nudge(view(incident), recipient=recipient), thread_key=card_key(incident, recipient),
                    urgent=True)

    def incident_reminder(self, *, session: Session, incident: Incident, user: str, now: datetime) -> None:
        if user:
            outbox.post(session, channel=user, msg=blocks.ack_reminder(view(incident), user_id=user), now=now,
                        urgent=True)

    def owner_handed_over(self, *, session: Session, agent: Agent, previous: str, by: str, now: datetime) -> None:
        msg = blocks.owner_handed_over(agent_name=agent.name, previous=previous, new=agent.owner, by=by)
        for person in dict.fromkeys([agent.owner, previous, *agent.backup_owners]):
            outbox.post(session, channel=person, msg=msg, now=now)

    def storm_card(self, *, session: Session, storm: StormPublic, recipient: str, channel: str,
                   now: datetime) -> None:
        outbox.post(session, channel=channel, msg=blocks.storm_card(storm, recipient=recipient), now=now,
                    key=storms.card_key(storm.id, recipient), urgent=True)

    def storm_refresh(self, *, session: Session, storm: StormPublic, cards: dict[str, str], now: datetime) -> None:
        for recipient, channel in cards.items():
            outbox.update(session, key=storms.card_key(storm.id, recipient), now=now, channel=channel,
                          msg=blocks.storm_card(storm, recipient=recipient))

    def storm_nudge(self, *, session: Session, storm: StormPublic, recipient: str, channel: str,
                    now: datetime) -> None:
        outbox.post(session, channel=channel, msg=blocks.storm_nudge(storm, recipient=recipient), now=now,
                    thread_key=storms.card_key(storm.id, recipient), urgent=True)
